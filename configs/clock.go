package configs

import (
	"fmt"
	"time"
)

// Location is the one clock siaga112 shows times in: reports.time_zone
// ("Local" is the host's zone). The board, the console, the CLI and CSV
// files all use it, so the same block reads the same time everywhere.
func (c Config) Location() *time.Location {
	switch c.Reports.TimeZone {
	case "", "Local":
		return time.Local
	case "UTC":
		return time.UTC
	}
	loc, err := time.LoadLocation(c.Reports.TimeZone)
	if err != nil {
		// Validate refuses an unknown zone; a Config that skipped it shows
		// the host's time rather than none.
		return time.Local
	}
	return loc
}

// FormatTime writes t in loc as people read it on a list: date and minute
// with the zone's abbreviation ("2026-12-07 16:59 WITA").
func FormatTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return t.Format("2006-01-02 15:04 ") + ZoneName(t)
}

// ZoneName is the abbreviation people use for t's zone: Indonesia's WIB,
// WITA and WIT (the time zone database gives only "+07" style names for
// them), else the database's own.
func ZoneName(t time.Time) string {
	name, off := t.Zone()
	if t.Location() == time.UTC || (name == "UTC" && off == 0) {
		return "UTC"
	}
	if z, ok := indonesianAbbrev[t.Location().String()]; ok {
		return z
	}
	if len(name) > 0 && (name[0] == '+' || name[0] == '-') {
		return fmt.Sprintf("UTC%s", name)
	}
	return name
}

// indonesianAbbrev names Indonesia's zones as Indonesians do.
var indonesianAbbrev = map[string]string{
	"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB",
	"Asia/Makassar": "WITA", "Asia/Jayapura": "WIT",
}

// zoneWarnings: a centre in Indonesia whose clock is the host's UTC (or
// an unset "Local" on a UTC host) shows every time 7 to 9 hours off.
func (c Config) zoneWarnings() []FieldError {
	if c.Blocklist.DefaultCountry != "62" {
		return nil
	}
	loc := c.Location()
	if _, off := time.Now().In(loc).Zone(); off != 0 {
		return nil
	}
	return []FieldError{{Key: "reports.time_zone", Value: c.Reports.TimeZone,
		Msg: "shows times in UTC while blocklist.default_country is 62 (Indonesia): set the centre's zone, e.g. Asia/Makassar (WITA), Asia/Jakarta (WIB) or Asia/Jayapura (WIT)"}}
}
