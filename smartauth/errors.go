package smartauth

import "errors"

// Sentinel errors, one per failed check. Validate wraps exactly one of them
// (with context, never token text) so callers can match with errors.Is and
// map it to a stable reason code with Reason.
var (
	// Configuration (construction-time) errors.
	ErrConfig = errors.New("smartauth: invalid configuration")

	// Token pre-parse (steps 1-5 of the pipeline; no crypto, no network).
	ErrTokenMissing    = errors.New("smartauth: bearer token missing")
	ErrTokenTooLarge   = errors.New("smartauth: token exceeds size cap")
	ErrMalformed       = errors.New("smartauth: token is not a compact JWS")
	ErrHeader          = errors.New("smartauth: token header rejected")
	ErrHeaderParameter = errors.New("smartauth: forbidden JOSE header parameter")
	ErrAlgorithm       = errors.New("smartauth: signature algorithm not allowed")
	ErrKidMissing      = errors.New("smartauth: kid missing or invalid")
	ErrType            = errors.New("smartauth: header typ not allowed")
	ErrPayload         = errors.New("smartauth: token payload rejected")
	ErrUnknownIssuer   = errors.New("smartauth: issuer not configured")

	// Key lookup and signature (steps 6-7).
	ErrKidNotFound       = errors.New("smartauth: signing key not found")
	ErrKeyMismatch       = errors.New("smartauth: key does not fit token algorithm")
	ErrKeySetUnavailable = errors.New("smartauth: key set unavailable")
	ErrSignature         = errors.New("smartauth: signature invalid")

	// Claims (step 8). ErrClaimType, ErrIssuer, ErrExpMissing and
	// ErrIatMissing are found already in step 5, before any key lookup.
	ErrExpired        = errors.New("smartauth: token expired")
	ErrExpMissing     = errors.New("smartauth: exp claim missing")
	ErrNotYetValid    = errors.New("smartauth: token not valid yet (nbf)")
	ErrIssuedInFuture = errors.New("smartauth: iat in the future")
	ErrIatMissing     = errors.New("smartauth: iat claim missing")
	ErrClaimType      = errors.New("smartauth: claim has wrong type")
	ErrIssuer         = errors.New("smartauth: issuer mismatch")
	ErrAudience       = errors.New("smartauth: audience not accepted")
	ErrClientID       = errors.New("smartauth: client not allowed")
	ErrTokenUse       = errors.New("smartauth: wrong token kind")
	ErrScope          = errors.New("smartauth: no usable SMART resource scope")
	ErrCustomCheck    = errors.New("smartauth: custom check failed")
	ErrRemoteCheck    = errors.New("smartauth: remote check failed")
)
