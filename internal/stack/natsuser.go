package stack

import "github.com/siaga112/siaga112/events"

// natsUser is the embedded server's user a Stack logs in as: the user of
// its one role when it runs one (the HTTP listener only serves that role's
// routes), so that `siaga112 ivr` cannot write the blocklist nor a reports
// worker publish events; the union user when it runs several on its one
// connection, as serve and demo do.
func natsUser(r Roles) string {
	switch {
	case r.IVR && !r.Blocklist && !r.Reports:
		return events.UserIVR
	case r.Blocklist && !r.IVR && !r.Reports:
		return events.UserBlocklist
	case r.Reports && !r.IVR && !r.Blocklist:
		return events.UserReports
	}
	return events.UserServer
}
