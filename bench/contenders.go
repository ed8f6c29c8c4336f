package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	xjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/healthlake-smart/smartauth-go/bench/internal/fixture"
	"github.com/healthlake-smart/smartauth-go/smartauth"
)

// A contender validates one token fully, as a user would configure the
// library for a Keycloak realm in front of one data store: signature with
// RS256 pinned, iss, aud naming the data store, exp/iat/nbf, and where the
// library can, the token type (payload typ "Bearer"). Each ends with the
// SMART claims (scope, patient, fhirUser) in hand.
type contender struct {
	name     string
	validate func(token string) error
}

var errTokenType = errors.New("typ is not Bearer")

// rawVerify is the baseline: SHA-256 of the token's signing input and
// rsa.VerifyPKCS1v15, with the signature already decoded. It ignores its
// argument: the input is fixed at construction.
func rawVerify(f *fixture.Fixture) (contender, error) {
	i := strings.LastIndexByte(f.Good, '.')
	input := []byte(f.Good[:i])
	sig, err := base64.RawURLEncoding.DecodeString(f.Good[i+1:])
	if err != nil {
		return contender{}, err
	}
	pub := &f.Key.PublicKey
	return contender{"raw RS256 verify (crypto/rsa)", func(string) error {
		h := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
	}}, nil
}

func goContenders(f *fixture.Fixture) ([]contender, error) {
	var cs []contender
	for _, mk := range []func(*fixture.Fixture) (contender, error){smartauthContender, golangJWTContender, jwxContender, goOIDCContender} {
		c, err := mk(f)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// smartauthContender: a static key set from the JWKS, the default
// audience policy (aud must name the event's data store) and Keycloak's
// payload typ rule; RS256 is the default allow-list.
func smartauthContender(f *fixture.Fixture) (contender, error) {
	ks, err := smartauth.NewStaticKeySet(f.JWKS)
	if err != nil {
		return contender{}, err
	}
	v, err := smartauth.NewValidator(smartauth.Config{
		Issuers: []smartauth.IssuerConfig{{
			Issuer:    fixture.Issuer,
			KeySet:    ks,
			Audience:  smartauth.EndpointAudience(),
			TokenKind: smartauth.RequirePayloadType(fixture.TypBearer),
		}},
	})
	if err != nil {
		return contender{}, err
	}
	ctx := context.Background()
	return contender{"smartauth Validate", func(tok string) error {
		_, err := v.Validate(ctx, tok, fixture.Endpoint)
		return err
	}}, nil
}

// gjwtClaims are the claims a golang-jwt user decodes; Validate is
// golang-jwt's hook (ClaimsValidator) for the token type.
type gjwtClaims struct {
	gjwt.RegisteredClaims
	Scope    string `json:"scope"`
	Patient  string `json:"patient"`
	FHIRUser string `json:"fhirUser"`
	AZP      string `json:"azp"`
	Typ      string `json:"typ"`
}

func (c *gjwtClaims) Validate() error {
	if c.Typ != fixture.TypBearer {
		return errTokenType
	}
	return nil
}

func golangJWTContender(f *fixture.Fixture) (contender, error) {
	p := gjwt.NewParser(
		gjwt.WithValidMethods([]string{"RS256"}),
		gjwt.WithIssuer(fixture.Issuer),
		gjwt.WithAudience(fixture.Endpoint),
		gjwt.WithExpirationRequired(),
		gjwt.WithIssuedAt(),
	)
	pub := &f.Key.PublicKey
	keyFunc := func(t *gjwt.Token) (any, error) {
		if t.Header["kid"] != fixture.Kid {
			return nil, errors.New("unknown kid")
		}
		return pub, nil
	}
	return contender{"golang-jwt v5 ParseWithClaims", func(tok string) error {
		_, err := p.ParseWithClaims(tok, &gjwtClaims{}, keyFunc)
		return err
	}}, nil
}

func jwxContender(f *fixture.Fixture) (contender, error) {
	key, err := jwk.Import(&f.Key.PublicKey)
	if err != nil {
		return contender{}, err
	}
	if err := key.Set(jwk.KeyIDKey, fixture.Kid); err != nil {
		return contender{}, err
	}
	return contender{"jwx v3 jwt.Parse", func(tok string) error {
		t, err := xjwt.Parse([]byte(tok),
			xjwt.WithKey(jwa.RS256(), key),
			xjwt.WithIssuer(fixture.Issuer),
			xjwt.WithAudience(fixture.Endpoint),
			xjwt.WithClaimValue("typ", fixture.TypBearer),
			xjwt.WithValidate(true),
		)
		if err != nil {
			return err
		}
		var scope string
		return t.Get("scope", &scope)
	}}, nil
}

// oidcClaims are the claims a go-oidc user decodes from the verified token
// (IDToken.Claims); go-oidc itself has no hook for the token type.
type oidcClaims struct {
	Scope    string `json:"scope"`
	Patient  string `json:"patient"`
	FHIRUser string `json:"fhirUser"`
	AZP      string `json:"azp"`
	Typ      string `json:"typ"`
}

func goOIDCContender(f *fixture.Fixture) (contender, error) {
	v := oidc.NewVerifier(fixture.Issuer,
		&oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&f.Key.PublicKey}},
		&oidc.Config{ClientID: fixture.Endpoint, SupportedSigningAlgs: []string{oidc.RS256}})
	ctx := context.Background()
	return contender{"go-oidc Verify + Claims", func(tok string) error {
		idt, err := v.Verify(ctx, tok)
		if err != nil {
			return err
		}
		var c oidcClaims
		if err := idt.Claims(&c); err != nil {
			return err
		}
		if c.Typ != fixture.TypBearer {
			return fmt.Errorf("go-oidc: %w", errTokenType)
		}
		return nil
	}}, nil
}
