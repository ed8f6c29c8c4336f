package smartauth

import (
	"context"
	"fmt"
)

// StaticKeySet is a fixed set of keys (tests, offline use, keys distributed
// out of band). It never does I/O and is safe for concurrent use.
type StaticKeySet struct {
	keys map[string]*Key // never modified after construction
}

// NewStaticKeySet builds a key set from a JWKS document with the load
// policy of ParseJWKS (which lists the dropped keys). It fails, wrapping
// ErrConfig and ErrJWKSInvalid or ErrNoUsableKeys, when no key is admitted.
func NewStaticKeySet(jwksJSON []byte) (*StaticKeySet, error) {
	keys, _, err := ParseJWKS(jwksJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: static key set: %w", ErrConfig, err)
	}
	return &StaticKeySet{keys: keys}, nil
}

// NewStaticKeySetFromKeys builds a key set from keys built in code; each
// must pass the load policy of ParseJWKS and kids must be unique, else an
// error wraps ErrConfig. The keys are copied.
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

// Key returns the key for kid or an error wrapping ErrKidNotFound; it
// does not allocate on a hit.
func (s *StaticKeySet) Key(_ context.Context, kid string) (*Key, error) {
	if k, ok := s.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: not in static key set", ErrKidNotFound)
}
