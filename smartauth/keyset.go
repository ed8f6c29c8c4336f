package smartauth

import (
	"context"
	"crypto"
)

// Key is a public verification key admitted by a key set's load policy.
// Keys are immutable once published by a key set and may be shared between
// goroutines.
type Key struct {
	// ID is the JWK "kid". It is an opaque map key, never interpreted.
	ID string
	// Algorithm is the JWS algorithm pinned by the JWK "alg" member
	// (for example "RS256"). A token's header alg must equal it.
	Algorithm string
	// Public is a *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
	Public crypto.PublicKey
}

// KeySet supplies verification keys by key ID.
//
// Key may perform network I/O (for example a refresh after an unknown kid)
// bounded by ctx. It returns an error wrapping ErrKidNotFound when the kid
// is unknown, and ErrKeySetUnavailable when the set has never held any key
// (for example the JWKS endpoint was unreachable at cold start).
// Implementations must be safe for concurrent use.
type KeySet interface {
	Key(ctx context.Context, kid string) (*Key, error)
}
