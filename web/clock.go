package web

import (
	"time"

	"github.com/siaga112/siaga112/configs"
)

// The one clock (reports.time_zone) is shown with its abbreviation on every
// page: a supervisor in Bontang reading "13.05" must not wonder whether a
// server in Jakarta wrote it. The console writes full dates (its lists
// reach back months and years); the board writes short ones and adds the
// year only when it is not this year's (locale.DayTimeAt).

// consoleTime is a console list's time: "2026-12-02 13:05 WITA".
func consoleTime(t time.Time, loc *time.Location) string { return configs.FormatTime(t, loc) }

// consoleSeconds is consoleTime to the second: "2026-12-02 13:05:09 WITA".
func consoleSeconds(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return t.Format("2006-01-02 15:04:05 ") + configs.ZoneName(t)
}
