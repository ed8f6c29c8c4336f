package smartauth

import (
	"context"
	"errors"
)

// reasonTable maps each sentinel to its stable reason code, in match order
// (ErrHeaderParameter before ErrHeader). Built once; never written.
var reasonTable = [...]struct {
	err  error
	code string
}{
	{ErrConfig, "config"},
	{ErrTokenMissing, "token_missing"},
	{ErrTokenTooLarge, "token_size"},
	{ErrMalformed, "malformed"},
	{ErrHeaderParameter, "header_parameter"},
	{ErrHeader, "header"},
	{ErrAlgorithm, "alg"},
	{ErrKidMissing, "kid_missing"},
	{ErrType, "typ"},
	{ErrPayload, "payload"},
	{ErrUnknownIssuer, "iss_unknown"},
	{ErrKidNotFound, "kid"},
	{ErrKeyMismatch, "key_mismatch"},
	{ErrKeySetUnavailable, "jwks_unavailable"},
	{ErrSignature, "signature"},
	{ErrExpired, "exp"},
	{ErrExpMissing, "exp_missing"},
	{ErrNotYetValid, "nbf"},
	{ErrIssuedInFuture, "iat"},
	{ErrIatMissing, "iat_missing"},
	{ErrClaimType, "claim_type"},
	{ErrIssuer, "iss"},
	{ErrAudience, "aud"},
	{ErrClientID, "client_id"},
	{ErrTokenUse, "token_kind"},
	{ErrScope, "scope"},
	{ErrCustomCheck, "custom"},
	{ErrRemoteCheck, "remote_check"},
	{ErrJWKSInvalid, "jwks_invalid"},
	{ErrNoUsableKeys, "jwks_no_keys"},
	{ErrJWKSFetch, "jwks_fetch"},
}

// Reason returns a short, stable code for err, suitable for logs and metric
// dimensions: "ok" for nil, the code of the first sentinel err wraps (for
// example "exp", "aud", "kid", "signature"), "timeout" for an exceeded
// deadline, "internal" otherwise.
func Reason(err error) string {
	if err == nil {
		return "ok"
	}
	for _, rc := range &reasonTable {
		if errors.Is(err, rc.err) {
			return rc.code
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timeout"
	}
	return "internal"
}
