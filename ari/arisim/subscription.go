package arisim

import (
	"net/http"
	"slices"
	"strings"
)

// Application subscriptions (POST/DELETE /applications/{app}/subscription)
// let an application hear a channel, a bridge or a device state it does not
// control. siaga112 needs them for what comes after the hand-off: a continue
// takes the channel out of Stasis, and with it the application's implicit
// subscription, so without one of its own the application hears nothing of
// the queue. Asterisk keeps an explicit channel subscription until the
// channel is destroyed (the application then gets ChannelDestroyed, which a
// Stasis application alone never does).
//
// The subscriptions live with what they point at: a channel's in
// channel.subs, a bridge's in bridge.apps, a device's in device.subs. They
// survive DropWebSockets (the application still exists, its events are lost
// while it has no connection) and vanish with Restart.

// eventSource is one parsed eventSource value.
type eventSource struct {
	scheme, id string
	ch         *channel
	br         *bridge
}

func (s *Server) subscribe(_ *http.Request, p *params) reply   { return s.changeSubscription(p, true) }
func (s *Server) unsubscribe(_ *http.Request, p *params) reply { return s.changeSubscription(p, false) }

// changeSubscription handles the sources one after another and stops at the
// first error, leaving the earlier ones changed, as stasis_app_subscribe and
// stasis_app_unsubscribe do (app_handle_subscriptions in res_stasis.c).
// Unsubscribing checks only that the application holds the subscription: a
// source that is not subscribed, or does not exist, is a 422 (the swagger
// documents 409, which res_stasis never returns).
func (s *Server) changeSubscription(p *params, add bool) reply {
	app := p.path("applicationName")
	raw := p.strs("eventSource")
	if len(raw) == 0 {
		return errReply(400, "Missing parameter eventSource")
	}
	if !slices.Contains(s.appNames(), app) {
		return errReply(404, "Application not found")
	}
	for _, r := range raw {
		scheme, id, ok := strings.Cut(r, ":")
		if !ok {
			return errReply(400, "Invalid event source URI scheme")
		}
		src := eventSource{scheme: scheme, id: id}
		switch scheme {
		case "channel":
			src.ch, ok = s.channels.get(id)
		case "bridge":
			s.bridgeMu.Lock()
			src.br = s.bridges[id]
			s.bridgeMu.Unlock()
			ok = src.br != nil
		case "deviceState":
			ok = id != ""
		case "endpoint":
			ok = false // the sim has no endpoints resource
		default:
			return errReply(400, "Invalid event source URI scheme")
		}
		if !add {
			if !ok || !s.subscribed(app, src) {
				return errReply(422, "Event source was not subscribed to")
			}
		} else if !ok {
			return errReply(422, "Event source does not exist")
		}
		if !s.setSubscribed(app, src, add) {
			return errReply(422, "Event source does not exist") // the channel went meanwhile
		}
	}
	return okReply(s.appJSON(app))
}

// subscribed reports whether app holds an explicit subscription to src.
func (s *Server) subscribed(app string, src eventSource) bool {
	switch src.scheme {
	case "channel":
		src.ch.mu.Lock()
		defer src.ch.mu.Unlock()
		return slices.Contains(src.ch.subs, app)
	case "bridge":
		s.bridgeMu.Lock()
		defer s.bridgeMu.Unlock()
		return slices.Contains(src.br.apps, app)
	case "deviceState":
		qe := s.qe
		qe.mu.Lock()
		defer qe.mu.Unlock()
		d := qe.devices[src.id]
		return d != nil && slices.Contains(d.subs, app)
	}
	return false
}

// setSubscribed adds or removes app's subscription to src; false when the
// channel is gone.
func (s *Server) setSubscribed(app string, src eventSource, add bool) bool {
	edit := func(list []string) []string {
		list = slices.DeleteFunc(list, func(a string) bool { return a == app })
		if add {
			list = append(list, app)
		}
		return list
	}
	switch src.scheme {
	case "channel":
		src.ch.mu.Lock()
		defer src.ch.mu.Unlock()
		if src.ch.gone {
			return false
		}
		src.ch.subs = edit(src.ch.subs)
	case "bridge":
		s.bridgeMu.Lock()
		src.br.apps = edit(src.br.apps)
		s.bridgeMu.Unlock()
	case "deviceState":
		qe := s.qe
		qe.mu.Lock()
		d := qe.device(src.id)
		d.subs = edit(d.subs)
		qe.mu.Unlock()
	}
	return true
}

// subscribedDevices lists the devices app is subscribed to, sorted.
func (qe *queueEngine) subscribedDevices(app string) []string {
	qe.mu.Lock()
	defer qe.mu.Unlock()
	out := []string{}
	for name, d := range qe.devices {
		if slices.Contains(d.subs, app) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
