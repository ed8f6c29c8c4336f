// Package pretoken is a Cognito Pre Token Generation trigger (event versions
// V2_0 and V3_0) that makes Cognito access tokens usable for SMART on FHIR:
// it copies the fhirUser and patient launch context from user attributes
// (custom:fhirUser, custom:patient) into the access token and, optionally,
// adds SMART scopes from explicit group and app-client tables.
//
// Without such a trigger Cognito access tokens carry neither fhirUser nor
// patient, so HealthLake fine-grained authorization and patient launch are
// impossible. Access-token customisation needs the Essentials or Plus tier.
//
// Reference:
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html
//
// Cognito custom attributes are user-writable by default: the trigger
// copies them only with Config.AttributesAdminControlled, set once the
// attributes are immutable or in no app client's WriteAttributes.
//
// This package imports github.com/aws/aws-lambda-go/events; the provider
// package cognito does not.
package pretoken
