package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/healthlake-smart/smartauth-go/internal/emulator"
)

// A stand-in IdP Lambda that allows every token with patient/*.rs for
// patient 456: the emulator then limits every request to that patient's
// compartment, and answers another patient's resources as not found. The
// Metadata's capabilities must enable v2 scopes (permission-v2), as on
// HealthLake.
func Example() {
	const endpoint = "https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
	now := time.Unix(1700000000, 0)
	lambda := emulator.InvokerFunc(func(_ context.Context, event []byte) ([]byte, error) {
		var ev struct {
			DatastoreEndpoint string `json:"datastoreEndpoint"`
			OperationName     string `json:"operationName"`
		}
		if err := json.Unmarshal(event, &ev); err != nil {
			return nil, err
		}
		fmt.Println("lambda invoked for", ev.OperationName)
		return json.Marshal(map[string]any{
			"authPayload": map[string]any{"isAuthorized": true, "aud": ev.DatastoreEndpoint, "scope": "launch/patient patient/*.rs",
				"patient": "456", "nbf": now.Unix(), "exp": now.Unix() + 300},
			"iamRoleARN": "arn:aws:iam::123456789012:role/healthlake-smart",
		})
	})
	srv, err := emulator.New(emulator.Config{Invoker: lambda, DatastoreEndpoint: endpoint,
		Metadata: []byte(`{"capabilities":["permission-patient","permission-v2"]}`), Now: func() time.Time { return now }})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, path := range []string{"Patient/456", "Patient/789"} {
		req := httptest.NewRequest(http.MethodGet, srv.BasePath()+path, nil)
		req.Header.Set("Authorization", "Bearer token-from-your-idp")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		fmt.Println(path, rec.Code)
	}
	// Output:
	// lambda invoked for ReadResource
	// Patient/456 200
	// lambda invoked for ReadResource
	// Patient/789 404
}
