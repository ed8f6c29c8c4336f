// Command healthlake-lambda is a deployable HealthLake SMART on FHIR IdP
// Lambda (runtime provided.al2023, handler "bootstrap"). It reads its
// configuration from environment variables at cold start, builds the
// validator once, fetches the JWKS (Hydrate) before the first request and
// then answers each HealthLake invocation through lambdaadapter.
//
// Build:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./examples/healthlake-lambda
//
// Environment (see config.go for the full list):
//
//	SMARTAUTH_PROVIDER   cognito | keycloak | generic
//	SERVICE_ROLE_ARN     IAM role HealthLake assumes (iamRoleARN), required
//	COGNITO_REGION, COGNITO_USER_POOL_ID, COGNITO_CLIENT_IDS, COGNITO_SCOPE_PREFIXES
//	KEYCLOAK_URL, KEYCLOAK_REALM, KEYCLOAK_AUDIENCES, KEYCLOAK_CLIENTS
//	ISSUER, JWKS_URL, AUDIENCES, CLIENT_IDS (generic)
//	ALGORITHMS           JWS allow-list, e.g. "ES256,RS256" (generic, keycloak; default RS256)
//	SCOPE_FORMAT         "v1" for SMART_ON_FHIR_V1 data stores
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	s, err := settingsFromEnv(os.Getenv)
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	v, a, err := s.New()
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	// Cold start: fetch every JWKS now, outside the 1 s request budget. A
	// failure is logged, not fatal: the key set retries on the first request.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if err := v.Hydrate(ctx); err != nil {
		logger.Warn("jwks hydrate failed", "error", err.Error())
	}
	cancel()
	h := lambdaadapter.New(a, lambdaadapter.WithLogger(logger))
	lambda.Start(h) // Handler.Invoke: malformed payloads get a deny, not a runtime error
}
