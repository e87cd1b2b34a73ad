package ari

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/events"
)

// Operators' device states.
//
// A supervisor needs to know how many operators are free, ringing, busy or
// away, and a call-back must only be placed while one is free. Asterisk
// tracks each queue member's device state; GET /deviceStates/{device} reads
// it for any device (not only Stasis: ones), and subscribing the
// application to deviceState:{device} brings a DeviceStateChanged on every
// change (both checked on 22.10.1). The configured members
// (ivr.menu[].members) are read and subscribed on every connection, and
// each state is published as operator.state: read on connection, then on
// every change. The node's reader hands changes to one goroutine per node
// through a bounded queue, so publishing never holds the events connection.

// opQueueSize bounds the device state changes waiting to be published.
const opQueueSize = 256

// operatorDevices maps each configured member device to its queues, in
// configuration order.
func operatorDevices(iv configs.IVR) (devices []string, queues map[string][]string) {
	queues = make(map[string][]string)
	for _, m := range iv.Menu {
		for _, d := range m.Members {
			if _, seen := queues[d]; !seen {
				devices = append(devices, d)
			}
			if m.Queue != "" && !slices.Contains(queues[d], m.Queue) {
				queues[d] = append(queues[d], m.Queue)
			} else if queues[d] == nil {
				queues[d] = []string{}
			}
		}
	}
	return devices, queues
}

// OperatorState turns an Asterisk device state into what operator.state
// says of it.
func OperatorState(asterisk string) string {
	switch asterisk {
	case "NOT_INUSE":
		return events.OperatorFree
	case "RINGING", "RINGINUSE":
		return events.OperatorRinging
	case "INUSE", "BUSY", "ONHOLD":
		return events.OperatorBusy
	case "UNAVAILABLE", "INVALID":
		return events.OperatorAway
	}
	return events.OperatorUnknown
}

// operatorWatch is one node's follower of its operators' devices.
type operatorWatch struct {
	devices []string
	queues  map[string][]string
	// sync asks the loop to read and subscribe every device (buffered, 1).
	sync chan struct{}
	// changes carries DeviceStateChanged from the reader (bounded).
	changes chan ariv6.DeviceStateData
	dropped atomic.Uint64
	// last is the last state published per device; owned by the loop.
	last map[string]string

	mu sync.Mutex
	// now is each device's last known Asterisk state, for readers outside
	// the loop (the call-back placer); guarded by mu.
	now map[string]string
}

// anyFree reports whether one of devices is free (NOT_INUSE) on this node;
// known is false when none of them has a state read yet.
func (w *operatorWatch) anyFree(devices []string) (free, known bool) {
	if w == nil {
		return false, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range devices {
		st, ok := w.now[d]
		if !ok || OperatorState(st) == events.OperatorUnknown {
			// Asterisk does not know it either (no such device).
			continue
		}
		known = true
		if OperatorState(st) == events.OperatorFree {
			return true, true
		}
	}
	return false, known
}

func newOperatorWatch(iv configs.IVR) *operatorWatch {
	devices, queues := operatorDevices(iv)
	return &operatorWatch{
		devices: devices,
		queues:  queues,
		sync:    make(chan struct{}, 1),
		changes: make(chan ariv6.DeviceStateData, opQueueSize),
		last:    make(map[string]string),
		now:     make(map[string]string),
	}
}

// resync asks for a full read; it never blocks.
func (w *operatorWatch) resync() {
	if w == nil {
		return
	}
	select {
	case w.sync <- struct{}{}:
	default:
	}
}

// changed queues a DeviceStateChanged from the node's reader; it never
// blocks. A change of a device that is not configured is ignored.
func (w *operatorWatch) changed(d ariv6.DeviceStateData) {
	if w == nil {
		return
	}
	if _, ok := w.queues[deviceName(d)]; !ok {
		return
	}
	select {
	case w.changes <- d:
	default:
		// The next connection's read corrects the state; count the loss.
		w.dropped.Add(1)
	}
}

func deviceName(d ariv6.DeviceStateData) string {
	if d.Key != nil && d.Key.ID != "" {
		return d.Key.ID
	}
	return d.Name
}

// operatorLoop publishes the node's operators' states until ctx ends.
func (n *node) operatorLoop(ctx context.Context) {
	w := n.operators
	if w == nil || len(w.devices) == 0 {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.sync:
			n.readOperators(ctx)
		case d := <-w.changes:
			n.publishOperator(ctx, deviceName(d), d.State, false)
		}
	}
}

// readOperators reads and subscribes every configured device.
func (n *node) readOperators(ctx context.Context) {
	app := ariv6.NewKey(ariv6.ApplicationKey, n.ari.Application)
	for _, dev := range n.operators.devices {
		err := restCall(ctx, n.ari.RequestTimeout, "subscribe to device state", func() error {
			return n.client.Application().Subscribe(app, "deviceState:"+dev)
		})
		if err != nil {
			n.log.Warn("operator's device state not followed", "device", dev, "error", err)
		}
		state, err := n.deviceState(ctx, dev)
		if err != nil {
			n.log.Warn("operator's device state not read", "device", dev, "error", err)
			continue
		}
		n.publishOperator(ctx, dev, state, true)
	}
}

// deviceState reads one device's state. The device name holds a slash
// (PJSIP/op201), which the library would put into the path unescaped.
func (n *node) deviceState(ctx context.Context, device string) (string, error) {
	const op = "get device state"
	rctx, cancel := context.WithTimeout(ctx, n.ari.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, n.cfg.URL+"/deviceStates/"+url.PathEscape(device), nil)
	if err != nil {
		return "", fmt.Errorf("ari: %s: %w", op, err)
	}
	req.SetBasicAuth(n.cfg.Username, n.cfg.Password)
	resp, err := n.http.Do(req)
	if err != nil {
		return "", classify(op, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ari: %s %s: status %d", op, device, resp.StatusCode)
	}
	var d struct {
		State string `json:"state"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&d); err != nil {
		return "", fmt.Errorf("ari: %s: decode: %w", op, err)
	}
	return d.State, nil
}

// publishOperator publishes operator.state for a device when its state
// changed, or always when force (a read on connection).
func (n *node) publishOperator(ctx context.Context, device, asterisk string, force bool) {
	w := n.operators
	w.mu.Lock()
	w.now[device] = asterisk
	w.mu.Unlock()
	if !force && w.last[device] == asterisk {
		return
	}
	w.last[device] = asterisk
	env, err := events.New(events.TypeOperatorState, "", n.cfg.Name, events.Caller{}, events.OperatorState{
		Device:        device,
		State:         OperatorState(asterisk),
		AsteriskState: asterisk,
		Queues:        w.queues[device],
	})
	if err != nil {
		n.log.Error("operator.state not built", "error", err)
		return
	}
	if err := n.ivr.pub.Publish(ctx, env); err != nil {
		n.log.Error("operator.state lost", "device", device, "error", err)
	}
}
