// Package healthlake is the AWS HealthLake side of a SMART on FHIR IdP
// Lambda: the event HealthLake sends (Event, DecodeEvent), the answer it
// expects (Response, AuthPayload) and Authorize, which runs a
// smartauth.Validator on the event's bearer token and maps the verified
// token to that answer.
//
//	v, err := smartauth.NewValidator(cfg)  // token policy
//	a, err := healthlake.New(v, healthlake.Config{RoleARN: roleARN})
//	d := a.Authorize(ctx, ev)              // d.Response is the Lambda's answer
//
// An allowed response carries authPayload (iss, aud = the event's
// datastoreEndpoint, iat, nbf, exp, isAuthorized, uid, scope, fhirUser,
// patient) and iamRoleARN; a deny is {"authPayload":{"isAuthorized":false}}.
//
// What is NOT checked: whether the FHIR request is permitted by the granted
// scopes (HealthLake enforces that; see the scopes package).
//
// Reference: https://docs.aws.amazon.com/healthlake/latest/devguide/reference-smart-on-fhir-token-validation.html
package healthlake
