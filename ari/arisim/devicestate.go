package arisim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Device states as Asterisk names them (ast_devstate_str), the values of
// DeviceState.state in ARI.
const (
	DeviceUnknown     = "UNKNOWN"
	DeviceNotInUse    = "NOT_INUSE"
	DeviceInUse       = "INUSE"
	DeviceBusy        = "BUSY"
	DeviceInvalid     = "INVALID"
	DeviceUnavailable = "UNAVAILABLE"
	DeviceRinging     = "RINGING"
	DeviceRingInUse   = "RINGINUSE"
	DeviceOnHold      = "ONHOLD"
)

var deviceStates = []string{DeviceUnknown, DeviceNotInUse, DeviceInUse, DeviceBusy, DeviceInvalid,
	DeviceUnavailable, DeviceRinging, DeviceRingInUse, DeviceOnHold}

// stasisDevicePrefix marks the devices ARI itself controls (PUT /deviceStates);
// only they are listed by GET /deviceStates.
const stasisDevicePrefix = "Stasis:"

// device is one device's state; its fields are guarded by queueEngine.mu.
type device struct {
	name     string
	set      string    // state set with SetDeviceState or PUT /deviceStates ("" = none)
	member   bool      // a member of some queue: NOT_INUSE when nothing says otherwise
	ringing  int       // member channels ringing on it
	talking  int       // member channels answered on it
	lastCall time.Time // when its last queue call ended (wrap-up)
	shown    string    // the state last reported
	subs     []string
}

// state is the device's aggregate state: on a call, ringing, or as set.
func (d *device) state() string {
	switch {
	case d.talking > 0:
		return DeviceInUse
	case d.ringing > 0 && d.set == DeviceInUse:
		return DeviceRingInUse
	case d.ringing > 0:
		return DeviceRinging
	case d.set != "":
		return d.set
	case d.member:
		return DeviceNotInUse
	}
	return DeviceUnknown
}

// device returns the device named name, creating it in state UNKNOWN.
func (qe *queueEngine) device(name string) *device {
	d := qe.devices[name]
	if d == nil {
		d = &device{name: name, shown: DeviceUnknown}
		qe.devices[name] = d
	}
	return d
}

// update reports a change of d's state to the applications subscribed to it
// (DeviceStateChanged) and to QUEUE_MEMBER.
func (qe *queueEngine) update(d *device) {
	st := d.state()
	if st == d.shown {
		return
	}
	d.shown = st
	for _, app := range d.subs {
		qe.s.emit(app, deviceStateChangedEvent{eventBase: qe.s.base("DeviceStateChanged", app),
			DeviceState: deviceStateJSON{Name: d.name, State: st}})
	}
	qe.publishFree()
}

// SetDeviceState sets a device's state as its channel driver would report it:
// an operator busy on another line (INUSE), away (UNAVAILABLE) or back
// (NOT_INUSE). Applications subscribed to deviceState:<device> get
// DeviceStateChanged; members who become free are rung for callers waiting
// in their queues, and callers of a queue whose members are all away leave
// for its overflow (leavewhenempty). While the sim rings a member or the
// member is on a call, the device shows RINGING or INUSE whatever was set.
// A state that is not one of Asterisk's is ignored.
func (s *Server) SetDeviceState(device, state string) {
	if !slices.Contains(deviceStates, state) {
		s.log.Warn("SetDeviceState: not a device state; ignored", "device", device, "state", state)
		return
	}
	qe := s.qe
	qe.mu.Lock()
	defer qe.mu.Unlock()
	d := qe.device(device)
	d.set = state
	qe.update(d)
	qe.checkEmpty()
	qe.dispatch()
}

// DeviceState is a device's state now, as GET /deviceStates/{device} answers:
// UNKNOWN for a device never seen, NOT_INUSE for a queue member nothing else
// is known about.
func (s *Server) DeviceState(device string) string {
	qe := s.qe
	qe.mu.Lock()
	defer qe.mu.Unlock()
	if d := qe.devices[device]; d != nil {
		return d.state()
	}
	return DeviceUnknown
}

// ---- REST ----

// listDeviceStates is GET /deviceStates: like Asterisk, only the devices ARI
// controls (Stasis:...), not every device it knows.
func (s *Server) listDeviceStates(_ *http.Request, _ *params) reply {
	qe := s.qe
	qe.mu.Lock()
	out := []deviceStateJSON{}
	for name, d := range qe.devices {
		if strings.HasPrefix(name, stasisDevicePrefix) && d.set != "" {
			out = append(out, deviceStateJSON{Name: name, State: d.state()})
		}
	}
	qe.mu.Unlock()
	slices.SortFunc(out, func(a, b deviceStateJSON) int { return strings.Compare(a.Name, b.Name) })
	return okReply(out)
}

// getDeviceState is GET /deviceStates/{deviceName}, for any device. A name
// with a slash (PJSIP/op201) must be sent escaped (PJSIP%2Fop201): the path
// has one segment for it.
func (s *Server) getDeviceState(_ *http.Request, p *params) reply {
	name := p.path("deviceName")
	return okReply(deviceStateJSON{Name: name, State: s.DeviceState(name)})
}

// stasisDevice checks that a PUT or DELETE names a device ARI controls.
func stasisDevice(name string) (reply, bool) {
	switch {
	case !strings.HasPrefix(name, stasisDevicePrefix):
		return errReply(409, "Uncontrolled device specified"), false
	case name == stasisDevicePrefix:
		return errReply(404, "Device name is missing"), false
	}
	return reply{}, true
}

// putDeviceState is PUT /deviceStates/{deviceName}: sets a Stasis: device.
func (s *Server) putDeviceState(_ *http.Request, p *params) reply {
	name, state := p.path("deviceName"), p.str("deviceState")
	if state == "" {
		return missingParam("deviceState")
	}
	if rep, ok := stasisDevice(name); !ok {
		return rep
	}
	if !slices.Contains(deviceStates, state) || state == DeviceUnknown {
		// ast_devstate_val gives UNKNOWN for what it does not know, which
		// stasis_app_device_state_update refuses.
		return errReply(500, "Unknown device")
	}
	s.SetDeviceState(name, state)
	return noContent()
}

// deleteDeviceState is DELETE /deviceStates/{deviceName}: the Stasis: device
// goes back to UNKNOWN and out of the list.
func (s *Server) deleteDeviceState(_ *http.Request, p *params) reply {
	name := p.path("deviceName")
	if rep, ok := stasisDevice(name); !ok {
		return rep
	}
	qe := s.qe
	qe.mu.Lock()
	defer qe.mu.Unlock()
	d := qe.devices[name]
	if d == nil || d.set == "" {
		return errReply(404, "Device name is missing")
	}
	d.set = ""
	qe.update(d)
	return noContent()
}
