// Package sounds carries siaga112's voice prompts, the files this folder
// holds, into the binary: Asterisk plays them from its own sounds folder,
// and has no way to hand a sound's file out over ARI (GET /sounds/{id}
// only describes one), so the console plays these copies to a supervisor
// who wants to hear a prepared incident announcement before starting it.
package sounds

import (
	"embed"
	"io/fs"
)

//go:embed */siaga112/*.wav prompts.*.txt
var shipped embed.FS

// FS returns the shipped prompts laid out as Asterisk's sounds folder,
// <language>/siaga112/<name>.wav, next to the texts they were spoken from,
// prompts.<language>.txt (one "key|text" a line, # comments). They are the
// files docker-compose.yml mounts into the Asterisk container, as of the
// build: a prompt replaced on an Asterisk host afterwards is not in them.
func FS() fs.FS { return shipped }
