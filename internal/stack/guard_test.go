package stack

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
)

// rawGet sends GET path with the given Host header and returns the status.
func rawGet(t *testing.T, addr, host, path string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

// A request naming a host that is neither allowed nor an IP literal — a
// DNS-rebound name — is refused with 421 on the board, the API and every
// other route; loopback names and IP literals pass by default, and a LAN
// deployment names its own host.
func TestHostCheck(t *testing.T) {
	cfg := testConfig(t)
	addr := startHTTP(t, cfg)
	_, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, http.StatusOK},
		{"localhost:" + port, http.StatusOK},
		{"LocalHost.", http.StatusOK},
		{"[::1]:" + port, http.StatusOK},
		{"10.1.2.3", http.StatusOK},
		{"rebind.attacker.example:" + port, http.StatusMisdirectedRequest},
		{"localhost.attacker.example", http.StatusMisdirectedRequest},
		{"board.centre.lan", http.StatusMisdirectedRequest},
	} {
		for _, path := range []string{"/", "/api/stats", "/api/stream?range=bad", "/metrics"} {
			got := rawGet(t, addr, tc.host, path)
			if (tc.want == http.StatusMisdirectedRequest) != (got == http.StatusMisdirectedRequest) {
				t.Errorf("Host %s, GET %s: %d, want %d", tc.host, path, got, tc.want)
			}
		}
	}

	cfg = testConfig(t)
	cfg.HTTP.AllowedHosts = []string{"board.centre.lan"}
	addr = startHTTP(t, cfg)
	if got := rawGet(t, addr, "Board.Centre.LAN:8112", "/livez"); got != http.StatusOK {
		t.Errorf("an allowed LAN name: %d", got)
	}
	if got := rawGet(t, addr, "localhost", "/livez"); got != http.StatusMisdirectedRequest {
		t.Errorf("localhost, not in the list: %d", got)
	}
}

// With http.secure_cookies every cookie set on the listener is Secure (the
// console's session behind a TLS proxy), and a stream behind the wrapper
// still flushes; without it cookies are left as their handler set them.
func TestSecureCookies(t *testing.T) {
	h := http.NewServeMux()
	h.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "siaga112_session", Value: "x", HttpOnly: true, Secure: r.TLS != nil})
		http.SetCookie(w, &http.Cookie{Name: "other", Value: "y", Secure: true})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	h.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the wrapper: %v", err)
		}
	})
	for _, secure := range []bool{false, true} {
		cfg := configs.Default().HTTP
		cfg.SecureCookies = secure
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := NewHTTPServer(cfg, h, testLogger(t))
		go func() { _ = hs.Serve(ln) }()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Get("http://" + ln.Addr().String() + "/set")
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		for _, c := range res.Header.Values("Set-Cookie") {
			n := strings.Count(strings.ToLower(c), "secure")
			want := 0
			if secure || strings.HasPrefix(c, "other=") {
				want = 1
			}
			if n != want {
				t.Errorf("secure_cookies %v: Set-Cookie %q", secure, c)
			}
		}
		res, err = client.Get("http://" + ln.Addr().String() + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		_ = hs.Close()
	}
}
