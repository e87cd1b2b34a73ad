package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		unhealthy bool // error must wrap ErrUnhealthy
		wantErr   string
	}{
		{name: "healthy", status: http.StatusOK, body: `{"status":"ok"}`},
		{name: "ari down", status: http.StatusServiceUnavailable, body: `{"ari":{"asterisk-1":"down"}}`,
			unhealthy: true, wantErr: `asterisk-1`},
		{name: "not found", status: http.StatusNotFound, body: "404 page not found",
			unhealthy: true, wantErr: "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/livez" || r.Method != http.MethodGet {
					http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
					return
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()

			err := check(context.Background(), srv.Client(), srv.URL+"/livez")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("check: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("check: nil, want an error containing %q", tt.wantErr)
			}
			if got := errors.Is(err, ErrUnhealthy); got != tt.unhealthy {
				t.Errorf("errors.Is(err, ErrUnhealthy) = %v, want %v (err %v)", got, tt.unhealthy, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckTransportFailures(t *testing.T) {
	// A port that was listening and is now closed: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String() + "/livez"
	_ = ln.Close()

	// A server that never answers: the context deadline must end the check.
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)

	tests := []struct {
		name    string
		url     string
		timeout time.Duration
	}{
		{name: "connection refused", url: closedURL, timeout: 10 * time.Second},
		{name: "no answer", url: slow.URL + "/livez", timeout: 200 * time.Millisecond},
		{name: "bad url", url: "http://[::1", timeout: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			err := check(ctx, http.DefaultClient, tt.url)
			if err == nil {
				t.Fatal("check: nil, want an error")
			}
			if errors.Is(err, ErrUnhealthy) {
				t.Errorf("transport failure reported as ErrUnhealthy: %v", err)
			}
		})
	}
}
