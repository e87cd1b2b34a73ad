package arisim

// This file holds the route table: every ARI path the sim serves, mapped to its
// handler, and Asterisk's answer for the paths it does not serve.

import "net/http"

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	h := func(pattern string, fn handlerFunc) { m.Handle(pattern, s.rest(fn)) }

	h("GET /ari/asterisk/info", s.getInfo)
	h("GET /ari/asterisk/ping", s.ping)
	h("GET /ari/asterisk/variable", s.getGlobalVar)
	h("POST /ari/asterisk/variable", s.setGlobalVar)

	h("GET /ari/applications", s.listApplications)
	h("GET /ari/applications/{applicationName}", s.getApplication)
	h("POST /ari/applications/{applicationName}/subscription", s.subscribe)
	h("DELETE /ari/applications/{applicationName}/subscription", s.unsubscribe)

	h("GET /ari/deviceStates", s.listDeviceStates)
	h("GET /ari/deviceStates/{deviceName}", s.getDeviceState)
	h("PUT /ari/deviceStates/{deviceName}", s.putDeviceState)
	h("DELETE /ari/deviceStates/{deviceName}", s.deleteDeviceState)

	h("GET /ari/channels", s.listChannels)
	h("POST /ari/channels", s.originate)
	h("POST /ari/channels/create", s.createChannel)
	h("GET /ari/channels/{channelId}", s.getChannel)
	h("POST /ari/channels/{channelId}", s.originate)
	h("DELETE /ari/channels/{channelId}", s.hangup)
	h("POST /ari/channels/{channelId}/continue", s.continueInDialplan)
	h("POST /ari/channels/{channelId}/move", s.move)
	h("POST /ari/channels/{channelId}/redirect", s.redirect)
	h("POST /ari/channels/{channelId}/answer", s.answer)
	h("POST /ari/channels/{channelId}/ring", s.simpleOp(opRing))
	h("DELETE /ari/channels/{channelId}/ring", s.simpleOp(opRingStop))
	h("POST /ari/channels/{channelId}/progress", s.simpleOp(opProgress))
	h("POST /ari/channels/{channelId}/dtmf", s.sendDTMF)
	h("POST /ari/channels/{channelId}/mute", s.simpleOp(opMute))
	h("DELETE /ari/channels/{channelId}/mute", s.simpleOp(opUnmute))
	h("POST /ari/channels/{channelId}/hold", s.simpleOp(opHold))
	h("DELETE /ari/channels/{channelId}/hold", s.simpleOp(opUnhold))
	h("POST /ari/channels/{channelId}/moh", s.simpleOp(opMOH))
	h("DELETE /ari/channels/{channelId}/moh", s.simpleOp(opMOHStop))
	h("POST /ari/channels/{channelId}/silence", s.simpleOp(opSilence))
	h("DELETE /ari/channels/{channelId}/silence", s.simpleOp(opSilenceStop))
	h("POST /ari/channels/{channelId}/play", s.playOnChannel)
	h("POST /ari/channels/{channelId}/play/{playbackId}", s.playOnChannel)
	h("POST /ari/channels/{channelId}/record", s.recordChannel)
	h("GET /ari/channels/{channelId}/variable", s.getChannelVar)
	h("POST /ari/channels/{channelId}/variable", s.setChannelVar)
	h("POST /ari/channels/{channelId}/dial", s.dial)

	h("GET /ari/playbacks/{playbackId}", s.getPlayback)
	h("DELETE /ari/playbacks/{playbackId}", s.stopPlayback)
	h("POST /ari/playbacks/{playbackId}/control", s.controlPlayback)

	h("GET /ari/recordings/stored", s.listStored)
	h("GET /ari/recordings/stored/{recordingName}", s.getStored)
	h("DELETE /ari/recordings/stored/{recordingName}", s.deleteStored)
	h("GET /ari/recordings/stored/{recordingName}/file", s.getStoredFile)
	h("POST /ari/recordings/stored/{recordingName}/copy", s.copyStored)
	h("GET /ari/recordings/live/{recordingName}", s.getLive)
	h("DELETE /ari/recordings/live/{recordingName}", s.endLive(recCanceled))
	h("POST /ari/recordings/live/{recordingName}/stop", s.endLive(recDone))
	h("POST /ari/recordings/live/{recordingName}/pause", s.pauseLive(true))
	h("DELETE /ari/recordings/live/{recordingName}/pause", s.pauseLive(false))
	h("POST /ari/recordings/live/{recordingName}/mute", s.muteLive(true))
	h("DELETE /ari/recordings/live/{recordingName}/mute", s.muteLive(false))

	h("GET /ari/bridges", s.listBridges)
	h("POST /ari/bridges", s.createBridge)
	h("POST /ari/bridges/{bridgeId}", s.createBridge)
	h("GET /ari/bridges/{bridgeId}", s.getBridge)
	h("DELETE /ari/bridges/{bridgeId}", s.destroyBridge)
	h("POST /ari/bridges/{bridgeId}/addChannel", s.addChannel)
	h("POST /ari/bridges/{bridgeId}/removeChannel", s.removeChannel)
	h("POST /ari/bridges/{bridgeId}/play", s.playOnBridge)
	h("POST /ari/bridges/{bridgeId}/play/{playbackId}", s.playOnBridge)

	m.HandleFunc("GET /ari/events", s.serveEvents)
	m.Handle("/ari/", s.rest(func(r *http.Request, _ *params) reply { return s.unknownRoute(m, r) }))
	return m
}

// unknownRoute answers like Asterisk for a path it has no handler for: 405 when the
// path exists with another method, 404 otherwise.
func (s *Server) unknownRoute(m *http.ServeMux, r *http.Request) reply {
	for _, meth := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if meth == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = meth
		if _, pat := m.Handler(probe); pat != "" && pat != "/ari/" {
			return errReply(http.StatusMethodNotAllowed, "Invalid method")
		}
	}
	return errReply(http.StatusNotFound, "Resource not found")
}
