package smartauth

import (
	"context"
	"errors"
)

// Sentinel errors, one per failed check, each with a stable reason code
// (Reason). A Validate error wraps one of them first (with context, never
// token text; then possibly its cause), so callers can match with errors.Is.
var (
	// Configuration (construction-time) errors.
	ErrConfig = sentinel("invalid configuration", "config")

	// Token pre-parse (steps 1-5 of the pipeline; no crypto, no network).
	ErrTokenMissing    = sentinel("bearer token missing", "token_missing")
	ErrTokenTooLarge   = sentinel("token exceeds size cap", "token_size")
	ErrMalformed       = sentinel("token is not a compact JWS", "malformed")
	ErrHeader          = sentinel("token header rejected", "header")
	ErrHeaderParameter = sentinel("forbidden JOSE header parameter", "header_parameter")
	ErrAlgorithm       = sentinel("signature algorithm not allowed", "alg")
	ErrKidMissing      = sentinel("kid missing or invalid", "kid_missing")
	ErrType            = sentinel("header typ not allowed", "typ")
	ErrPayload         = sentinel("token payload rejected", "payload")
	ErrUnknownIssuer   = sentinel("issuer not configured", "iss_unknown")

	// Key lookup and signature (steps 6-7).
	ErrKidNotFound       = sentinel("signing key not found", "kid")
	ErrKeyMismatch       = sentinel("key does not fit token algorithm", "key_mismatch")
	ErrKeySetUnavailable = sentinel("key set unavailable", "jwks_unavailable")
	ErrSignature         = sentinel("signature invalid", "signature")

	// Claims (step 8). ErrClaimType, ErrIssuer, ErrExpMissing and
	// ErrIatMissing are found already in step 5, before any key lookup.
	ErrExpired        = sentinel("token expired", "exp")
	ErrExpMissing     = sentinel("exp claim missing", "exp_missing")
	ErrNotYetValid    = sentinel("token not valid yet (nbf)", "nbf")
	ErrIssuedInFuture = sentinel("iat in the future", "iat")
	ErrIatMissing     = sentinel("iat claim missing", "iat_missing")
	ErrClaimType      = sentinel("claim has wrong type", "claim_type")
	ErrIssuer         = sentinel("issuer mismatch", "iss")
	ErrAudience       = sentinel("audience not accepted", "aud")
	ErrClientID       = sentinel("client not allowed", "client_id")
	ErrTokenUse       = sentinel("wrong token kind", "token_kind")
	ErrScope          = sentinel("no usable SMART resource scope", "scope")
	ErrCustomCheck    = sentinel("custom check failed", "custom")
	ErrRemoteCheck    = sentinel("remote check failed", "remote_check")
)

// reasonError is a sentinel error and its reason code.
type reasonError struct{ msg, code string }

func (e *reasonError) Error() string { return e.msg }

func sentinel(msg, code string) error { return &reasonError{"smartauth: " + msg, code} }

// Reason returns a short, stable code for err, suitable for logs and metric
// dimensions: "ok" for nil; the code of the first sentinel errors.As finds
// in err's tree (depth first, so the outermost: a Check failing with
// ErrAudience is "custom"), for example "exp", "aud", "kid", "signature";
// "timeout" for an exceeded deadline or a cancelled context; "internal"
// otherwise.
func Reason(err error) string {
	if err == nil {
		return "ok"
	}
	if re, ok := errors.AsType[*reasonError](err); ok {
		return re.code
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timeout"
	}
	return "internal"
}
