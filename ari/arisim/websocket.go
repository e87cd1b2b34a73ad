package arisim

import (
	"bufio"
	"crypto/sha1" //nolint:gosec // RFC 6455 mandates SHA-1 for the handshake
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// The events WebSocket is a small RFC 6455 server written for the sim: it needs full
// control over the connection (abrupt drops for fault injection) and one writer
// goroutine per connection draining an unbounded queue, so emitting an event never
// blocks a channel's lock.

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

type wsConn struct {
	s    *Server
	nc   net.Conn
	br   *bufio.Reader
	apps []string

	mu     sync.Mutex // guards queue and closed
	queue  [][]byte   // encoded frames waiting for the writer
	closed bool
	wake   chan struct{} // capacity 1: "the queue is not empty"
	done   chan struct{} // closed once by close()
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	s.restCount.Add(1)
	q := r.URL.Query()
	if !s.authorized(r) {
		s.writeReply(w, r, reply{status: http.StatusUnauthorized, body: errorJSON{Message: "Authentication required"}})
		return
	}
	var apps []string
	for _, v := range q["app"] {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				apps = append(apps, a)
			}
		}
	}
	if len(apps) == 0 {
		s.writeReply(w, r, errReply(http.StatusBadRequest, "Missing param 'app'"))
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || r.Header.Get("Sec-WebSocket-Key") == "" {
		s.writeReply(w, r, errReply(http.StatusBadRequest, "Invalid WebSocket upgrade request"))
		return
	}
	if s.isClosed() {
		s.writeReply(w, r, errReply(http.StatusServiceUnavailable, "Service Unavailable"))
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		s.writeReply(w, r, errReply(http.StatusInternalServerError, "WebSocket not supported"))
		return
	}
	nc, rw, err := hj.Hijack()
	if err != nil {
		s.log.Error("websocket hijack", "error", err)
		return
	}
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + wsGUID)) //nolint:gosec // protocol requirement
	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n"
	if proto := r.Header.Get("Sec-WebSocket-Protocol"); proto != "" {
		resp += "Sec-WebSocket-Protocol: " + strings.TrimSpace(strings.Split(proto, ",")[0]) + "\r\n"
	}
	resp += "Server: Asterisk/" + asteriskVersion + "\r\n\r\n"
	if _, err := rw.WriteString(resp); err != nil {
		_ = nc.Close()
		return
	}
	if err := rw.Flush(); err != nil {
		_ = nc.Close()
		return
	}
	c := &wsConn{s: s, nc: nc, br: rw.Reader, apps: apps, wake: make(chan struct{}, 1), done: make(chan struct{})}
	// Registration waits for a Restart in progress (see Server.life), so
	// the new process does not forget an application registered meanwhile.
	s.life.RLock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.life.RUnlock()
		_ = nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	for _, a := range apps {
		s.registerApp(a, c)
	}
	s.life.RUnlock()
	s.log.Debug("websocket connected", "apps", apps, "remote", nc.RemoteAddr().String())
	if !s.goTracked(c.writeLoop) || !s.goTracked(c.readLoop) {
		c.close()
	}
}

// send queues an encoded event as a text frame.
func (c *wsConn) send(payload []byte) { c.sendFrame(opText, payload) }

func (c *wsConn) sendFrame(op byte, payload []byte) {
	frame := encodeFrame(op, payload)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, frame)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func encodeFrame(op byte, payload []byte) []byte {
	n := len(payload)
	var hdr []byte
	switch {
	case n < 126:
		hdr = []byte{0x80 | op, byte(n)}
	case n <= 0xFFFF:
		hdr = []byte{0x80 | op, 126, 0, 0}
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
	default:
		hdr = make([]byte, 10)
		hdr[0], hdr[1] = 0x80|op, 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
	}
	frame := make([]byte, 0, len(hdr)+n)
	frame = append(frame, hdr...)
	return append(frame, payload...)
}

// close drops the connection without a close frame and releases its applications.
func (c *wsConn) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
	close(c.done)
	_ = c.nc.Close()
	c.s.unregisterConn(c)
}

func (c *wsConn) writeLoop() {
	bw := bufio.NewWriterSize(c.nc, 32<<10)
	var batch [][]byte
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		c.mu.Lock()
		batch, c.queue = c.queue, batch[:0]
		c.mu.Unlock()
		for _, f := range batch {
			if _, err := bw.Write(f); err != nil {
				c.close()
				return
			}
		}
		if err := bw.Flush(); err != nil {
			c.close()
			return
		}
		clear(batch)
	}
}

// readLoop reads client frames: it answers pings and close frames and notices when
// the client goes away.
func (c *wsConn) readLoop() {
	defer c.close()
	for {
		op, payload, err := readFrame(c.br)
		if err != nil {
			return
		}
		switch op {
		case opClose:
			c.sendFrame(opClose, payload)
			return
		case opPing:
			c.sendFrame(opPong, payload)
		}
	}
}

var errFrameTooLarge = errors.New("arisim: websocket frame too large")

func readFrame(r *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	op := h[0] & 0x0F
	masked := h[1]&0x80 != 0
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, errFrameTooLarge
	}
	var mask [4]byte
	if masked {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return op, payload, nil
}
