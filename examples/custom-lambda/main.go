// Command custom-lambda is the "import the library into your own Lambda" case: the stock Keycloak validation plus
// one rule of your own. Every token must carry a "tenant" claim equal to this Lambda's TENANT, so a realm shared by
// several tenants cannot reach another tenant's data store. Environment, named and read as in examples/healthlake-lambda
// (lists comma-separated, items trimmed): KEYCLOAK_URL, KEYCLOAK_REALM, KEYCLOAK_AUDIENCES, KEYCLOAK_CLIENTS,
// DATASTORE_ENDPOINTS, SERVICE_ROLE_ARN; and TENANT. Build: scripts/build-lambdas.sh (provided.al2023, handler bootstrap).
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/healthlake-smart/smartauth-go/healthlake"
	"github.com/healthlake-smart/smartauth-go/lambdaadapter"
	"github.com/healthlake-smart/smartauth-go/providers/keycloak"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

var errTenant = errors.New("tenant claim missing or not this Lambda's tenant") // no claim value: the decision log prints it

// requireTenant is the custom rule, run after every built-in check (fails as smartauth.ErrCustomCheck).
func requireTenant(tenant string) func(*smartauth.Claims) error {
	return func(c *smartauth.Claims) error {
		if got, ok := c.StringClaim("tenant"); !ok || got != tenant {
			return errTenant
		}
		return nil
	}
}

// list splits a comma-separated setting, trimming items and dropping blanks, as healthlake-lambda does.
func list(s string) (out []string) {
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// newAuthorizer builds the validator and its HealthLake answer (now: nil = time.Now).
func newAuthorizer(kc keycloak.Config, tenant string, endpoints []string, roleARN string, now func() time.Time) (*smartauth.Validator, *healthlake.Authorizer, error) {
	if tenant == "" || len(endpoints) == 0 {
		return nil, nil, errors.New("custom-lambda: TENANT and DATASTORE_ENDPOINTS are required")
	}
	kc.Check = requireTenant(tenant)
	ic, err := keycloak.New(kc)
	var v *smartauth.Validator
	if err == nil { // Endpoints: the data stores this Lambda serves
		v, err = smartauth.NewValidator(smartauth.Config{Issuers: []smartauth.IssuerConfig{ic}, Now: now, Endpoints: endpoints})
	}
	if err != nil {
		return nil, nil, err
	}
	a, err := healthlake.New(v, healthlake.Config{RoleARN: roleARN})
	return v, a, err
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	kc := keycloak.Config{BaseURL: os.Getenv("KEYCLOAK_URL"), Realm: os.Getenv("KEYCLOAK_REALM"),
		Audiences: list(os.Getenv("KEYCLOAK_AUDIENCES")), AllowedClients: list(os.Getenv("KEYCLOAK_CLIENTS"))}
	v, a, err := newAuthorizer(kc, os.Getenv("TENANT"), list(os.Getenv("DATASTORE_ENDPOINTS")), os.Getenv("SERVICE_ROLE_ARN"), nil)
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := v.Hydrate(ctx); err != nil { // cold start, outside the 1 s budget
		logger.Warn("jwks hydrate failed", "error", err.Error())
	}
	lambda.Start(lambdaadapter.New(a, lambdaadapter.WithLogger(logger)))
}
