package web

import (
	"encoding/json"
	"net/http"
)

// Every JSON answer of the listener goes through writeJSON: one place sets
// the content type and forbids caches (answers name numbers and sessions'
// state, and a proxy or browser cache must not keep them).

// writeJSON answers v as one line of JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) { encodeJSON(w, status, v, false) }

// writePrettyJSON answers v as indented JSON with 200: the reports API is
// read by people with curl as often as by scripts.
func writePrettyJSON(w http.ResponseWriter, v any) { encodeJSON(w, http.StatusOK, v, true) }

// writeError answers {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func encodeJSON(w http.ResponseWriter, status int, v any, indent bool) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(v)
}
