package smartauth

import (
	"context"
	"fmt"
	"io"
	"os"
)

// maxStaticJWKSFile caps the size of a JWKS file read by
// NewStaticKeySetFromFile.
const maxStaticJWKSFile = 1 << 20

// StaticKeySet is a fixed set of verification keys: for tests, offline
// verification, or an issuer whose keys are distributed out of band. It is
// the counterpart of aws-jwt-verify's cacheJwks. It never performs I/O and
// is safe for concurrent use.
type StaticKeySet struct {
	keys map[string]*Key // never modified after construction
}

var _ KeySet = (*StaticKeySet)(nil)

// NewStaticKeySet builds a key set from a JWKS document, applying the load
// policy of ParseJWKS. Keys the policy drops are left out silently; call
// ParseJWKS to see them. It fails with an error wrapping ErrConfig (and
// ErrJWKSInvalid or ErrNoUsableKeys) when the document is unusable or no
// key is admitted.
func NewStaticKeySet(jwksJSON []byte) (*StaticKeySet, error) {
	keys, _, err := ParseJWKS(jwksJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: static key set: %w", ErrConfig, err)
	}
	return &StaticKeySet{keys: keys}, nil
}

// NewStaticKeySetFromFile reads a JWKS document (at most 1 MiB) from path
// and calls NewStaticKeySet.
func NewStaticKeySetFromFile(path string) (*StaticKeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: static key set: %w", ErrConfig, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStaticJWKSFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: static key set: %w", ErrConfig, err)
	}
	if len(data) > maxStaticJWKSFile {
		return nil, fmt.Errorf("%w: static key set: %s is larger than %d bytes", ErrConfig, path, maxStaticJWKSFile)
	}
	return NewStaticKeySet(data)
}

// NewStaticKeySetFromKeys builds a key set from keys built in code. Each key
// must pass the same policy as a JWKS entry (non-empty kid of at most 256
// bytes, alg in the asymmetric allow-list, public key type, size and curve
// fitting alg); kids must be unique. Any violation is an error wrapping
// ErrConfig. The Key values are copied, so later changes to the arguments
// have no effect.
func NewStaticKeySetFromKeys(keys ...*Key) (*StaticKeySet, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: static key set: no keys", ErrConfig)
	}
	m := make(map[string]*Key, len(keys))
	for i, k := range keys {
		if reason := validateKey(k); reason != "" {
			return nil, fmt.Errorf("%w: static key set: key %d: %s", ErrConfig, i, reason)
		}
		if _, dup := m[k.ID]; dup {
			return nil, fmt.Errorf("%w: static key set: key %d: %s", ErrConfig, i, dropDuplicateKid)
		}
		c := *k
		m[k.ID] = &c
	}
	return &StaticKeySet{keys: m}, nil
}

// Key returns the key with the given kid, or an error wrapping
// ErrKidNotFound. It never blocks, ignores ctx and does not allocate on a
// hit.
func (s *StaticKeySet) Key(_ context.Context, kid string) (*Key, error) {
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: not in static key set", ErrKidNotFound)
}
