// Command cognito-pretoken is a deployable Cognito Pre Token Generation
// trigger (configure the user pool with LambdaVersion V2_0, or V3_0 to also
// customise client-credentials tokens). It copies custom:fhirUser and
// custom:patient into access tokens and adds SMART scopes from tables.
//
// Environment:
//
//	ATTRIBUTES_ADMIN_CONTROLLED  "true" to copy the attributes: set it only when users cannot
//	                             change them (Mutable: false, or in no app client's WriteAttributes)
//	FHIRUSER_ATTRIBUTE           default custom:fhirUser
//	PATIENT_ATTRIBUTE            default custom:patient
//	ID_TOKEN_FHIRUSER            "true" to also add fhirUser to ID tokens
//	GROUP_SCOPES                 JSON object: group -> [scopes], e.g. {"practitioners":["user/*.rs"]}
//	GROUP_SCOPE_CLIENTS          comma-separated app client IDs that receive GROUP_SCOPES (required with it)
//	CLIENT_SCOPES                JSON object: app client ID -> [scopes] (client credentials only)
package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/healthlake-smart/smartauth-go/providers/cognito/pretoken"
)

func main() {
	cfg, err := configFromEnv(os.Getenv)
	if err == nil {
		var t *pretoken.Trigger
		if t, err = pretoken.New(cfg); err == nil {
			lambda.Start(t.Handle)
			return
		}
	}
	slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("configuration", "error", err.Error())
	os.Exit(1)
}

func configFromEnv(getenv func(string) string) (pretoken.Config, error) {
	cfg := pretoken.Config{
		FHIRUserAttribute:         getenv("FHIRUSER_ATTRIBUTE"),
		PatientAttribute:          getenv("PATIENT_ATTRIBUTE"),
		IDToken:                   getenv("ID_TOKEN_FHIRUSER") == "true",
		AttributesAdminControlled: getenv("ATTRIBUTES_ADMIN_CONTROLLED") == "true",
	}
	for _, id := range strings.Split(getenv("GROUP_SCOPE_CLIENTS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			cfg.GroupScopeClients = append(cfg.GroupScopeClients, id)
		}
	}
	for name, dst := range map[string]*map[string][]string{"GROUP_SCOPES": &cfg.GroupScopes, "CLIENT_SCOPES": &cfg.ClientScopes} {
		if v := getenv(name); v != "" {
			if err := json.Unmarshal([]byte(v), dst); err != nil {
				return cfg, fmt.Errorf("%s: want a JSON object of string arrays: %w", name, err)
			}
		}
	}
	return cfg, nil
}
