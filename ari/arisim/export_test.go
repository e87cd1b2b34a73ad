package arisim

// SetTap lets external tests see every REST response and event on the wire. It must
// be called before the server handles any traffic.
func SetTap(s *Server, fn func(kind, method, path string, status int, body []byte)) { s.tap = fn }

// SetRestartPause makes Restart run fn after it dropped the WebSockets and before it
// forgets the channels. It must be called before the server handles any traffic.
func SetRestartPause(s *Server, fn func()) { s.restartPause = fn }
