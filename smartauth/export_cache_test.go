package smartauth

// Test seams of the verified-token cache.

// CacheLen is the number of cached tokens (0 without a cache).
func (v *Validator) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.lru.Len()
}

// CacheBytes is the cache's accounted size in bytes.
func (v *Validator) CacheBytes() int64 {
	if v.cache == nil {
		return 0
	}
	return v.cache.bytes.Load()
}
