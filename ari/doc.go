// Package ari connects siaga112 to Asterisk over ARI: one WebSocket and one
// REST client per configured node, O(1) routing of every ARI event to the
// session that owns its channel, one goroutine per call running flows/ over
// a Call adapter, and the recovery paths that keep a caller from being left
// in silence (reconnect, hung REST requests, panics, shutdown).
//
// The library github.com/CyCoreSystems/ari/v6 is imported as ariv6 so that
// this package can keep the name ari; its REST calls take no context, so
// every call goes through restCall, which bounds it with a timeout.
package ari
