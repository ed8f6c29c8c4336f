package smartauth_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// TestReasonCodes checks that every sentinel has its own stable code, also
// when wrapped.
func TestReasonCodes(t *testing.T) {
	want := map[error]string{
		smartauth.ErrConfig:            "config",
		smartauth.ErrTokenMissing:      "token_missing",
		smartauth.ErrTokenTooLarge:     "token_size",
		smartauth.ErrMalformed:         "malformed",
		smartauth.ErrHeaderParameter:   "header_parameter",
		smartauth.ErrHeader:            "header",
		smartauth.ErrAlgorithm:         "alg",
		smartauth.ErrKidMissing:        "kid_missing",
		smartauth.ErrType:              "typ",
		smartauth.ErrPayload:           "payload",
		smartauth.ErrUnknownIssuer:     "iss_unknown",
		smartauth.ErrKidNotFound:       "kid",
		smartauth.ErrKeyMismatch:       "key_mismatch",
		smartauth.ErrKeySetUnavailable: "jwks_unavailable",
		smartauth.ErrSignature:         "signature",
		smartauth.ErrExpired:           "exp",
		smartauth.ErrExpMissing:        "exp_missing",
		smartauth.ErrNotYetValid:       "nbf",
		smartauth.ErrIssuedInFuture:    "iat",
		smartauth.ErrIatMissing:        "iat_missing",
		smartauth.ErrClaimType:         "claim_type",
		smartauth.ErrIssuer:            "iss",
		smartauth.ErrAudience:          "aud",
		smartauth.ErrClientID:          "client_id",
		smartauth.ErrTokenUse:          "token_kind",
		smartauth.ErrScope:             "scope",
		smartauth.ErrCustomCheck:       "custom",
		smartauth.ErrRemoteCheck:       "remote_check",
		smartauth.ErrJWKSInvalid:       "jwks_invalid",
		smartauth.ErrNoUsableKeys:      "jwks_no_keys",
		smartauth.ErrJWKSFetch:         "jwks_fetch",
	}
	require.Len(t, want, len(sentinels), "every sentinel has an expected code")
	seen := map[string]bool{}
	for _, s := range sentinels {
		code, ok := want[s]
		require.True(t, ok, "no expected code for %v", s)
		assert.Equal(t, code, smartauth.Reason(s), "%v", s)
		assert.Equal(t, code, smartauth.Reason(fmt.Errorf("ctx: %w", s)), "wrapped %v", s)
		assert.False(t, seen[code], "code %q used twice", code)
		seen[code] = true
	}
	// The outermost sentinel decides: a custom check failing with a
	// library sentinel is reported as the custom check.
	assert.Equal(t, "custom", smartauth.Reason(fmt.Errorf("%w: %w", smartauth.ErrCustomCheck, smartauth.ErrAudience)))
	assert.Equal(t, "jwks_unavailable", smartauth.Reason(fmt.Errorf("%w: %w", smartauth.ErrKeySetUnavailable, smartauth.ErrJWKSFetch)))
	assert.Equal(t, "ok", smartauth.Reason(nil))
	assert.Equal(t, "timeout", smartauth.Reason(context.DeadlineExceeded))
	assert.Equal(t, "timeout", smartauth.Reason(fmt.Errorf("fetch: %w", context.Canceled)))
	assert.Equal(t, "internal", smartauth.Reason(errors.New("boom")))
}
