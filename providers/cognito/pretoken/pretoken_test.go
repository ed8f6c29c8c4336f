package pretoken_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/healthlake-smart/smartauth-go/providers/cognito/pretoken"
)

const (
	appClient = "1example23456789abcdefghij" // callerContext.clientId of the user sign-in events
	m2mClient = "7m2mclient0example0abcdefg" // callerContext.clientId of the client-credentials event
)

// config is the trigger configuration most tests use.
func config() pretoken.Config {
	return pretoken.Config{
		AttributesAdminControlled: true,
		GroupScopeClients:         []string{appClient},
		GroupScopes: map[string][]string{
			"practitioners": {"user/*.read", "patient/*.read"},
			"researchers":   {"user/*.read", "user/Observation.rs"},
			"admins":        {"system/*.*"},
		},
		ClientScopes: map[string][]string{
			m2mClient: {"system/*.read", "system/Patient.rs"},
		},
	}
}

func loadEvent(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return data
}

// editEvent decodes an event fixture, lets edit change it and re-encodes it.
func editEvent(t testing.TB, name string, edit func(ev map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	require.NoError(t, json.Unmarshal(loadEvent(t, name), &ev))
	edit(ev)
	out, err := json.Marshal(ev)
	require.NoError(t, err)
	return out
}

// invoke runs the trigger through the aws-lambda-go handler (full JSON
// path) and returns a copy of the output: the handler's buffer is pooled.
func invoke(t testing.TB, trigger *pretoken.Trigger, event []byte) []byte {
	t.Helper()
	out, err := lambda.NewHandler(trigger.Handle).Invoke(context.Background(), event)
	require.NoError(t, err)
	return bytes.Clone(out)
}

// overrides extracts response.claimsAndScopeOverrideDetails.
func overrides(t testing.TB, out []byte) string {
	t.Helper()
	var ev struct {
		Response struct {
			Details json.RawMessage `json:"claimsAndScopeOverrideDetails"`
		} `json:"response"`
	}
	require.NoError(t, json.Unmarshal(out, &ev))
	require.NotEmpty(t, ev.Response.Details)
	return string(ev.Response.Details)
}

// nothingChanged is claimsAndScopeOverrideDetails when the trigger adds
// nothing (aws-lambda-go encodes the zero value with nulls).
const nothingChanged = `{
	"idTokenGeneration": {"claimsToAddOrOverride": null, "claimsToSuppress": null},
	"accessTokenGeneration": {"claimsToAddOrOverride": null, "claimsToSuppress": null,
		"scopesToAdd": null, "scopesToSuppress": null},
	"groupOverrideDetails": {"groupsToOverride": null, "iamRolesToOverride": null, "preferredRole": null}
}`

func TestHandleEvents(t *testing.T) {
	tests := []struct {
		name  string
		cfg   pretoken.Config
		event []byte
		want  string // claimsAndScopeOverrideDetails
	}{
		{
			name:  "V2_0 user sign-in: fhirUser, patient and group scopes",
			cfg:   config(),
			event: loadEvent(t, "v2-authentication.json"),
			// practitioners: user/*.read (patient/*.read is already requested);
			// researchers: user/*.read again (dropped), user/Observation.rs.
			want: `{
				"idTokenGeneration": {"claimsToAddOrOverride": null, "claimsToSuppress": null},
				"accessTokenGeneration": {
					"claimsToAddOrOverride": {"fhirUser": "Practitioner/123", "patient": "456"},
					"claimsToSuppress": null,
					"scopesToAdd": ["user/*.read", "user/Observation.rs"],
					"scopesToSuppress": null
				},
				"groupOverrideDetails": {"groupsToOverride": null, "iamRolesToOverride": null, "preferredRole": null}
			}`,
		},
		{
			name: "V2_0 with IDToken: fhirUser also in the ID token, patient not",
			cfg: func() pretoken.Config {
				c := config()
				c.IDToken = true
				return c
			}(),
			event: loadEvent(t, "v2-authentication.json"),
			want: `{
				"idTokenGeneration": {"claimsToAddOrOverride": {"fhirUser": "Practitioner/123"}, "claimsToSuppress": null},
				"accessTokenGeneration": {
					"claimsToAddOrOverride": {"fhirUser": "Practitioner/123", "patient": "456"},
					"claimsToSuppress": null,
					"scopesToAdd": ["user/*.read", "user/Observation.rs"],
					"scopesToSuppress": null
				},
				"groupOverrideDetails": {"groupsToOverride": null, "iamRolesToOverride": null, "preferredRole": null}
			}`,
		},
		{
			name:  "V2_0 without group tables: claims only",
			cfg:   pretoken.Config{AttributesAdminControlled: true},
			event: loadEvent(t, "v2-authentication.json"),
			want: `{
				"idTokenGeneration": {"claimsToAddOrOverride": null, "claimsToSuppress": null},
				"accessTokenGeneration": {
					"claimsToAddOrOverride": {"fhirUser": "Practitioner/123", "patient": "456"},
					"claimsToSuppress": null, "scopesToAdd": null, "scopesToSuppress": null
				},
				"groupOverrideDetails": {"groupsToOverride": null, "iamRolesToOverride": null, "preferredRole": null}
			}`,
		},
		{
			name:  "V3_0 client credentials: client scopes, no user attributes",
			cfg:   config(),
			event: loadEvent(t, "v3-client-credentials.json"),
			// system/*.read is already requested.
			want: `{
				"idTokenGeneration": {"claimsToAddOrOverride": null, "claimsToSuppress": null},
				"accessTokenGeneration": {
					"claimsToAddOrOverride": null, "claimsToSuppress": null,
					"scopesToAdd": ["system/Patient.rs"], "scopesToSuppress": null
				},
				"groupOverrideDetails": {"groupsToOverride": null, "iamRolesToOverride": null, "preferredRole": null}
			}`,
		},
		{
			name: "V3_0 client credentials of a client without a table entry",
			cfg:  config(),
			event: editEvent(t, "v3-client-credentials.json", func(ev map[string]any) {
				ev["callerContext"].(map[string]any)["clientId"] = "0other0client0id000000000"
			}),
			want: nothingChanged,
		},
		{
			name:  "V1 event: returned without access-token changes",
			cfg:   config(),
			event: loadEvent(t, "v1-authentication.json"),
			want:  nothingChanged,
		},
		{
			name: "unknown version: unchanged",
			cfg:  config(),
			event: editEvent(t, "v2-authentication.json", func(ev map[string]any) {
				ev["version"] = "4"
			}),
			want: nothingChanged,
		},
		{
			name: "custom attribute names",
			cfg: pretoken.Config{
				AttributesAdminControlled: true,
				FHIRUserAttribute:         "custom:fhir_user",
				PatientAttribute:          "custom:patient_id",
			},
			event: editEvent(t, "v2-authentication.json", func(ev map[string]any) {
				attrs := ev["request"].(map[string]any)["userAttributes"].(map[string]any)
				attrs["custom:fhir_user"] = "Patient/456"
				attrs["custom:patient_id"] = "456"
				// The default names are not read any more.
				attrs["custom:fhirUser"] = "Practitioner/999"
			}),
			want: `{
				"idTokenGeneration": {"claimsToAddOrOverride": null, "claimsToSuppress": null},
				"accessTokenGeneration": {
					"claimsToAddOrOverride": {"fhirUser": "Patient/456", "patient": "456"},
					"claimsToSuppress": null, "scopesToAdd": null, "scopesToSuppress": null
				},
				"groupOverrideDetails": {"groupsToOverride": null, "iamRolesToOverride": null, "preferredRole": null}
			}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trigger, err := pretoken.New(tc.cfg)
			require.NoError(t, err)
			out := invoke(t, trigger, tc.event)
			assert.JSONEq(t, tc.want, overrides(t, out))

			// The rest of the event goes back as Cognito sent it.
			var in, got map[string]any
			require.NoError(t, json.Unmarshal(tc.event, &in))
			require.NoError(t, json.Unmarshal(out, &got))
			for _, k := range []string{"version", "triggerSource", "region", "userPoolId", "callerContext"} {
				assert.Equal(t, in[k], got[k], k)
			}
		})
	}
}

func TestScopesToAddWithoutDuplicates(t *testing.T) {
	trigger, err := pretoken.New(config())
	require.NoError(t, err)
	event := editEvent(t, "v2-authentication.json", func(ev map[string]any) {
		req := ev["request"].(map[string]any)
		// Both groups map user/*.read; admins adds system/*.*; an unknown
		// group adds nothing; user/Observation.rs is already requested.
		req["groupConfiguration"].(map[string]any)["groupsToOverride"] =
			[]string{"practitioners", "unknown", "researchers", "admins", "practitioners"}
		req["scopes"] = []string{"openid", "user/Observation.rs"}
	})
	out := invoke(t, trigger, event)
	var got struct {
		Response struct {
			Details struct {
				Access struct {
					ScopesToAdd []string `json:"scopesToAdd"`
				} `json:"accessTokenGeneration"`
			} `json:"claimsAndScopeOverrideDetails"`
		} `json:"response"`
	}
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, []string{"user/*.read", "patient/*.read", "system/*.*"}, got.Response.Details.Access.ScopesToAdd)
}

func TestAttributeValuesSkipped(t *testing.T) {
	tests := []struct {
		name     string
		fhirUser any // nil deletes the attribute
		patient  any
		want     string // accessTokenGeneration.claimsToAddOrOverride
	}{
		{"both valid", "Practitioner/123", "456", `{"fhirUser":"Practitioner/123","patient":"456"}`},
		{"absolute fhirUser URL passed unchanged", "https://fhir.example.com/r4/Practitioner/123", "456",
			`{"fhirUser":"https://fhir.example.com/r4/Practitioner/123","patient":"456"}`},
		{"empty fhirUser", "", "456", `{"patient":"456"}`},
		{"space inside fhirUser", "Practitioner/ 123", "456", `{"patient":"456"}`},
		{"leading space is not trimmed", " Practitioner/123", "456", `{"patient":"456"}`},
		{"tab in patient", "Practitioner/123", "45\t6", `{"fhirUser":"Practitioner/123"}`},
		{"newline after patient", "Practitioner/123", "456\n", `{"fhirUser":"Practitioner/123"}`},
		{"whitespace only", "   ", "\r\n", `null`},
		{"fhirUser longer than 2048 bytes", "Practitioner/" + strings.Repeat("1", 2048), "456", `{"patient":"456"}`},
		{"attributes absent", nil, nil, `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trigger, err := pretoken.New(pretoken.Config{IDToken: true, AttributesAdminControlled: true})
			require.NoError(t, err)
			event := editEvent(t, "v2-authentication.json", func(ev map[string]any) {
				attrs := ev["request"].(map[string]any)["userAttributes"].(map[string]any)
				for name, v := range map[string]any{"custom:fhirUser": tc.fhirUser, "custom:patient": tc.patient} {
					if v == nil {
						delete(attrs, name)
					} else {
						attrs[name] = v
					}
				}
			})
			var got struct {
				Response struct {
					Details struct {
						ID struct {
							Claims json.RawMessage `json:"claimsToAddOrOverride"`
						} `json:"idTokenGeneration"`
						Access struct {
							Claims json.RawMessage `json:"claimsToAddOrOverride"`
						} `json:"accessTokenGeneration"`
					} `json:"claimsAndScopeOverrideDetails"`
				} `json:"response"`
			}
			require.NoError(t, json.Unmarshal(invoke(t, trigger, event), &got))
			assert.JSONEq(t, tc.want, string(got.Response.Details.Access.Claims))

			// The ID token gets fhirUser under the same rule, never patient.
			var access map[string]any
			require.NoError(t, json.Unmarshal(got.Response.Details.Access.Claims, &access))
			wantID := `null`
			if v, ok := access["fhirUser"]; ok {
				b, err := json.Marshal(map[string]any{"fhirUser": v})
				require.NoError(t, err)
				wantID = string(b)
			}
			assert.JSONEq(t, wantID, string(got.Response.Details.ID.Claims))
		})
	}
}

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name     string
		cfg      pretoken.Config
		contains []string
	}{
		{
			name:     "invalid group scope",
			cfg:      pretoken.Config{GroupScopeClients: []string{appClient}, GroupScopes: map[string][]string{"broken": {"patient/*.read", "patient/*.bogus"}}},
			contains: []string{`group "broken"`},
		},
		{
			name:     "scope with a space",
			cfg:      pretoken.Config{GroupScopeClients: []string{appClient}, GroupScopes: map[string][]string{"spaced": {"patient/*.read user/*.read"}}},
			contains: []string{`group "spaced"`},
		},
		{
			name:     "empty scope",
			cfg:      pretoken.Config{ClientScopes: map[string][]string{m2mClient: {""}}},
			contains: []string{`client "` + m2mClient + `"`},
		},
		{
			name: "every invalid table entry is reported",
			cfg: pretoken.Config{
				GroupScopeClients: []string{appClient},
				GroupScopes:       map[string][]string{"g1": {"Patient/*.read"}, "ok": {"user/*.read"}},
				ClientScopes:      map[string][]string{"c1": {"system/*.read", "system"}},
			},
			contains: []string{`group "g1"`, `client "c1"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trigger, err := pretoken.New(tc.cfg)
			require.ErrorIs(t, err, pretoken.ErrConfig)
			assert.Nil(t, trigger)
			for _, s := range tc.contains {
				assert.Contains(t, err.Error(), s)
			}
		})
	}

	t.Run("group scopes without the clients allowed to receive them", func(t *testing.T) {
		_, err := pretoken.New(pretoken.Config{GroupScopes: map[string][]string{"g": {"user/*.rs"}}})
		require.ErrorIs(t, err, pretoken.ErrConfig)
		assert.Contains(t, err.Error(), "GroupScopeClients")
	})

	t.Run("non-R4 resource types are accepted in tables", func(t *testing.T) {
		_, err := pretoken.New(pretoken.Config{GroupScopeClients: []string{appClient}, GroupScopes: map[string][]string{"g": {"patient/MyCustomType.rs"}}})
		require.NoError(t, err)
	})
}

func TestNewCopiesTables(t *testing.T) {
	cfg := config()
	trigger, err := pretoken.New(cfg)
	require.NoError(t, err)
	cfg.GroupScopes["practitioners"][0] = "system/*.*"
	cfg.GroupScopes["researchers"] = nil
	out := invoke(t, trigger, loadEvent(t, "v2-authentication.json"))
	assert.Contains(t, overrides(t, out), `"scopesToAdd":["user/*.read","user/Observation.rs"]`)
}

// A user who signs in through the machine client's app client must not
// inherit the client-credentials scopes.
func TestClientScopesOnlyForClientCredentials(t *testing.T) {
	trigger, err := pretoken.New(config())
	require.NoError(t, err)
	event := editEvent(t, "v2-authentication.json", func(ev map[string]any) {
		ev["callerContext"].(map[string]any)["clientId"] = m2mClient
		ev["request"].(map[string]any)["groupConfiguration"] = map[string]any{"groupsToOverride": []string{}}
	})
	out := overrides(t, invoke(t, trigger, event))
	assert.NotContains(t, out, "system/", "user sign-in must not receive client-credentials scopes")

	event = editEvent(t, "v3-client-credentials.json", func(map[string]any) {})
	out = overrides(t, invoke(t, trigger, event))
	assert.Contains(t, out, "system/Patient.rs")
}

// Cognito custom attributes are user-writable by default: without the
// explicit confirmation that they are admin-controlled, a user-chosen
// custom:patient must never reach the access token.
func TestAttributesCopiedOnlyWhenAdminControlled(t *testing.T) {
	cfg := config()
	cfg.AttributesAdminControlled = false
	trigger, err := pretoken.New(cfg)
	require.NoError(t, err)
	event := editEvent(t, "v2-authentication.json", func(ev map[string]any) {
		attrs := ev["request"].(map[string]any)["userAttributes"].(map[string]any)
		attrs["custom:patient"] = "victim-999"
	})
	out := overrides(t, invoke(t, trigger, event))
	assert.NotContains(t, out, "victim-999")
	assert.NotContains(t, out, "fhirUser")
	assert.NotContains(t, out, "user/*.read", "no fhirUser copied, so no group scopes")
}

// Group scopes go only to the app clients listed in GroupScopeClients: a
// practitioner signing in to a third-party patient app gets no
// practitioner scopes.
func TestGroupScopesOnlyForListedClients(t *testing.T) {
	trigger, err := pretoken.New(config())
	require.NoError(t, err)
	event := editEvent(t, "v2-authentication.json", func(ev map[string]any) {
		ev["callerContext"].(map[string]any)["clientId"] = "third-party-patient-app"
	})
	out := overrides(t, invoke(t, trigger, event))
	assert.NotContains(t, out, "user/*.read")
	assert.Contains(t, out, "Practitioner/123", "attributes are not client-specific")
}

func TestGroupScopeClientsRefuseEmptyEntry(t *testing.T) {
	_, err := pretoken.New(pretoken.Config{GroupScopes: map[string][]string{"g": {"user/*.rs"}}, GroupScopeClients: []string{""}})
	require.ErrorIs(t, err, pretoken.ErrConfig)
}

// Group scopes are the permissions of the token's FHIR user: they are added
// only when a valid fhirUser is copied into the token.
func TestGroupScopesNeedFHIRUser(t *testing.T) {
	trigger, err := pretoken.New(config())
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		fhirUser any // nil: attribute absent
		want     bool
	}{
		{name: "valid fhirUser", fhirUser: "Practitioner/123", want: true},
		{name: "no fhirUser attribute"},
		{name: "empty fhirUser", fhirUser: ""},
		{name: "fhirUser with white space", fhirUser: "Practitioner/1 Patient/2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			event := editEvent(t, "v2-authentication.json", func(ev map[string]any) {
				attrs := ev["request"].(map[string]any)["userAttributes"].(map[string]any)
				delete(attrs, "custom:fhirUser")
				if tc.fhirUser != nil {
					attrs["custom:fhirUser"] = tc.fhirUser
				}
			})
			out := overrides(t, invoke(t, trigger, event))
			if tc.want {
				assert.Contains(t, out, "user/*.read")
				assert.Contains(t, out, `"fhirUser":"Practitioner/123"`)
				return
			}
			assert.NotContains(t, out, "user/")
			assert.NotContains(t, out, "fhirUser")
		})
	}
}
