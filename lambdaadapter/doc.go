// Package lambdaadapter is the thin AWS Lambda handler for a HealthLake
// SMART on FHIR IdP Lambda: it runs a healthlake.Authorizer on the raw
// event within the invocation deadline and returns the response HealthLake
// expects. It logs one structured line per decision
// (decision, reason code, issuer, client, latency) and never the token.
//
// Use it from main:
//
//	v, err := smartauth.NewValidator(cfg)   // at init, outside the handler
//	a, err := healthlake.New(v, healthlake.Config{RoleARN: roleARN})
//	h := lambdaadapter.New(a, lambdaadapter.WithLogger(logger))
//	_ = v.Hydrate(ctx)                        // fetch JWKS at cold start
//	lambda.Start(h)                           // h implements lambda.Handler
//
// HealthLake reference:
// https://docs.aws.amazon.com/healthlake/latest/devguide/reference-smart-on-fhir-token-validation.html
package lambdaadapter
