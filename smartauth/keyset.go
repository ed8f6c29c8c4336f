package smartauth

import (
	"context"
	"crypto"
)

// Key is a public verification key admitted by a key set's load policy,
// immutable once published.
type Key struct {
	ID        string           // JWK kid, an opaque map key
	Algorithm string           // pinned JWS alg; the header alg must equal it
	Public    crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// KeySet supplies verification keys by kid, safe for concurrent use. Key
// may do network I/O bounded by ctx; its errors wrap ErrKidNotFound, or
// ErrKeySetUnavailable when the set never held a key.
type KeySet interface {
	Key(ctx context.Context, kid string) (*Key, error)
}
