package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/go-json-experiment/json"
)

// Invoker runs the IdP Lambda for one HealthLake event: event JSON in, the
// function's answer JSON out, exactly as the Lambda Invoke API carries them.
// A non-nil error is a function error or a failed invocation.
type Invoker interface {
	Invoke(ctx context.Context, event []byte) ([]byte, error)
}

// InvokerFunc adapts a function to Invoker, e.g.
// InvokerFunc(lambdaadapter.New(v).Invoke).
type InvokerFunc func(ctx context.Context, event []byte) ([]byte, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, event []byte) ([]byte, error) { return f(ctx, event) }

// RIEInvokePath is the invoke path of the Lambda Runtime Interface Emulator
// (and of the Lambda Invoke API for the function named "function").
const RIEInvokePath = "/2015-03-31/functions/function/invocations"

// maxAnswerBytes caps the size of a Lambda answer read back.
const maxAnswerBytes = 1 << 20

// HTTPInvoker posts events to a Lambda invoke URL, normally the Runtime
// Interface Emulator's http://127.0.0.1:PORT/2015-03-31/functions/function/invocations.
type HTTPInvoker struct {
	url    string
	client *http.Client
}

// NewHTTPInvoker checks the invoke URL (an http(s) URL; an empty path or "/"
// gets RIEInvokePath) and returns an invoker that posts with a copy of
// client, which must have a Timeout: there is no fallback client. The copy
// never follows a redirect (a 3xx answer is a failed invocation: the event
// carries the bearer token) and, when client has no Transport, uses one
// without a proxy (the HTTP_PROXY environment is ignored).
func NewHTTPInvoker(rawURL string, client *http.Client) (*HTTPInvoker, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("emulator: lambda URL %q: want http(s)://host[:port][/path]", rawURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = RIEInvokePath
	}
	if client == nil || client.Timeout <= 0 {
		return nil, errors.New("emulator: the HTTP invoker needs an *http.Client with a Timeout")
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		c.Transport = t
	}
	return &HTTPInvoker{url: u.String(), client: &c}, nil
}

// URL returns the invoke URL events are posted to.
func (h *HTTPInvoker) URL() string { return h.url }

// Invoke POSTs the event and returns the function's answer.
func (h *HTTPInvoker) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("emulator: invoke request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("emulator: invoke %s: %w", h.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, fmt.Errorf("emulator: reading the answer: %w", err)
	}
	if len(body) > maxAnswerBytes {
		return nil, fmt.Errorf("emulator: answer larger than %d bytes", maxAnswerBytes)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, fmt.Errorf("emulator: invoke %s: HTTP %d redirect, not followed (the event carries the bearer token)", h.url, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("emulator: invoke %s: HTTP %d", h.url, resp.StatusCode)
	}
	var probe struct {
		ErrorMessage *string `json:"errorMessage"`
	}
	if resp.Header.Get("X-Amz-Function-Error") != "" || (json.Unmarshal(body, &probe) == nil && probe.ErrorMessage != nil) {
		return nil, fmt.Errorf("emulator: lambda function error: %s", functionErrorText(body))
	}
	return body, nil
}

// functionErrorText returns "errorType: errorMessage" of a Lambda error
// answer, shortened.
func functionErrorText(body []byte) string {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "unreadable error answer"
	}
	s := e.ErrorMessage
	if e.ErrorType != "" {
		s = e.ErrorType + ": " + s
	}
	return shorten(s, 200)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
