package web

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siaga112/siaga112/events"
	"github.com/siaga112/siaga112/reports"
)

// The dashboard speaks the supervisors' language. Every word a person reads
// on it — labels, legends, outcome and type names, banners, errors — comes
// from a catalogue below, and every number, date and time goes through the
// locale's formatters, so a template or handler never holds English text and
// a new language is one more catalogue. The catalogues are Go maps rather
// than files so a missing key fails a unit test (TestCatalogues), not a wall
// screen at night.

// Languages the dashboard speaks.
const (
	// LangID is Bahasa Indonesia, the default.
	LangID = "id"
	// LangEN is English.
	LangEN = "en"
)

// Languages lists the supported language tags, the default first.
var Languages = []string{LangID, LangEN}

// locale formats text, numbers and times for one language.
type locale struct {
	// Tag is the BCP 47 tag written into <html lang>.
	Tag      string
	msgs     map[string]string
	decimal  string // decimal separator
	group    string // thousands separator
	timeSep  string // between hours and minutes: id-ID writes 14.05
	months   [12]string
	weekdays [7]string
}

var locales = map[string]*locale{
	LangID: {
		Tag: LangID, msgs: catalogueID, decimal: ",", group: ".", timeSep: ".",
		months:   [12]string{"Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"},
		weekdays: [7]string{"Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"},
	},
	LangEN: {
		Tag: LangEN, msgs: catalogueEN, decimal: ".", group: ",", timeSep: ":",
		months:   [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		weekdays: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	},
}

// SupportedLanguage reports whether tag names a language the dashboard has
// a catalogue for; configuration validation can use it.
func SupportedLanguage(tag string) bool { return locales[tag] != nil }

// negotiate picks the page's language: ?lang= first (a link or bookmark on
// a wall screen), then the browser's Accept-Language in order of preference,
// then the configured default. Region subtags are ignored (en-US is en).
func negotiate(r *http.Request, def string) *locale {
	if l := locales[strings.ToLower(r.URL.Query().Get("lang"))]; l != nil {
		return l
	}
	type pref struct {
		tag string
		q   float64
	}
	var prefs []pref
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if locales[base] != nil && q > 0 {
			prefs = append(prefs, pref{base, q})
		}
	}
	// A stable sort keeps the header's order among equal weights.
	slices.SortStableFunc(prefs, func(a, b pref) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	if len(prefs) > 0 {
		return locales[prefs[0].tag]
	}
	if l := locales[def]; l != nil {
		return l
	}
	return locales[LangID]
}

// T returns the message for key, formatted with args when there are any. A
// key missing from the catalogue shows as itself, so the gap is visible
// rather than silently English.
func (l *locale) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// Int formats n with the locale's thousands separator: 1.234 (id), 1,234 (en).
func (l *locale) Int(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(l.group)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Dec formats v with prec decimals: 12,5 (id), 12.5 (en).
func (l *locale) Dec(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Dash
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', prec, 64)
	whole, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := l.Int(n)
	if v < 0 && s != strconv.FormatFloat(0, 'f', prec, 64) {
		out = "-" + out
	}
	if frac != "" {
		out += l.decimal + frac
	}
	return out
}

// Pct formats a ratio (0.125) as a percentage with one decimal: 12,5%.
func (l *locale) Pct(r float64) string { return l.Dec(r*100, 1) + "%" }

// Pct0 formats a ratio as a whole percentage: 93%. The board's queue
// tiles use it, where three shares share one tile.
func (l *locale) Pct0(r float64) string { return l.Dec(r*100, 0) + "%" }

// Wait is a duration of seconds as minutes and seconds, with the locale's
// time separator: 1.05 (id), 1:05 (en). The board's script ticks the same
// form (web/dashboard.js).
func (l *locale) Wait(secs float64) string {
	n := int64(math.Max(0, secs))
	return strconv.FormatInt(n/60, 10) + l.timeSep + fmt.Sprintf("%02d", n%60)
}

// TimeSep is the separator of hours and minutes (and of a wait's minutes
// and seconds): "." (id), ":" (en).
func (l *locale) TimeSep() string { return l.timeSep }

// Clock is a 24-hour time with seconds: 14.05.09 (id), 14:05:09 (en).
func (l *locale) Clock(t time.Time) string {
	return fmt.Sprintf("%02d%s%02d%s%02d", t.Hour(), l.timeSep, t.Minute(), l.timeSep, t.Second())
}

// HM is a 24-hour time without seconds: 14.05 (id), 14:05 (en).
func (l *locale) HM(t time.Time) string {
	return fmt.Sprintf("%02d%s%02d", t.Hour(), l.timeSep, t.Minute())
}

// DayMonth is "27 Nov" (en) or "27 Nov" / "3 Agu" (id).
func (l *locale) DayMonth(t time.Time) string {
	return strconv.Itoa(t.Day()) + " " + l.months[t.Month()-1]
}

// Date is the day with its weekday: "Jumat, 27 Nov 2026".
func (l *locale) Date(t time.Time) string {
	return l.weekdays[t.Weekday()] + ", " + l.DayMonth(t) + " " + strconv.Itoa(t.Year())
}

// DayTime is "27 Nov 14.05".
func (l *locale) DayTime(t time.Time) string { return l.DayMonth(t) + " " + l.HM(t) }

// Outcome names an outcome (in_progress included).
func (l *locale) Outcome(o string) string {
	if o == "" {
		o = reports.OutcomeInProgress
	}
	if m, ok := l.msgs["outcome."+o]; ok {
		return m
	}
	return o
}

// Type names an emergency type; a type the catalogue does not know (a
// menu entry added in configuration) shows as configured.
func (l *locale) Type(t string) string {
	if m, ok := l.msgs["type."+t]; ok {
		return m
	}
	return t
}

// Dash stands for a figure that does not exist (a median of no calls, the
// share of nothing), so it is not mistaken for a measured zero.
const Dash = "–"

// catalogueID is Bahasa Indonesia. Words follow what a 112 centre's staff
// say: "panggilan" for a call, "diserahkan ke antrean" for handed to the
// operators' queue — which is not "dijawab petugas", answered by a person —,
// "iseng" for a prank, "poin pelanggaran" is avoided in favour of "strike",
// which the CLI and the blocklist policy use too.
var catalogueID = map[string]string{
	"title":                    "Siaga 112",
	"board.aria":               "Papan pantau panggilan 112",
	"range.today":              "Hari ini",
	"range.24h":                "24 jam",
	"range.7d":                 "7 hari",
	"range.30d":                "30 hari",
	"range.title.today":        "Hari ini",
	"range.title.24h":          "24 jam terakhir",
	"range.title.7d":           "7 hari terakhir",
	"range.title.30d":          "30 hari terakhir",
	"range.from":               "dari",
	"range.to":                 "sampai",
	"range.show":               "Tampilkan",
	"range.nav":                "Rentang waktu",
	"lang.nav":                 "Bahasa",
	"lang.id":                  "ID",
	"lang.en":                  "EN",
	"status.live":              "langsung",
	"status.stale":             "data basi",
	"status.loading":           "memuat riwayat…",
	"status.updated":           "diperbarui",
	"status.down":              "GANGGUAN",
	"status.degraded":          "terganggu",
	"kpi.now":                  "di IVR",
	"kpi.calls.today":          "Panggilan hari ini",
	"kpi.calls.range":          "Panggilan",
	"kpi.put_through":          "Ke antrean petugas",
	"queue.aria":               "Antrean petugas",
	"kpi.waiting":              "di antrean",
	"kpi.longest":              "terlama (mnt.dtk)",
	"kpi.waiting_none":         "tidak ada yang menunggu",
	"kpi.within":               "Dijawab petugas dalam",
	"kpi.within_t":             "≤%d dtk",
	"kpi.within_target":        "target 90% ≤15 dtk, 95% ≤20 dtk",
	"kpi.to_person":            "Waktu sampai petugas",
	"kpi.median_s":             "median (dtk)",
	"kpi.p90_s":                "p90 (dtk)",
	"kpi.queue_abandoned":      "Menutup di antrean",
	"kpi.queue_abandoned_sub":  "perlu ditelepon balik",
	"kpi.operators":            "Petugas",
	"kpi.put_through_fates":    "%s dijawab petugas, %s menutup di antrean",
	"op.free":                  "bebas",
	"op.busy":                  "sibuk",
	"op.ringing":               "%s berdering",
	"op.away":                  "tidak aktif",
	"queue.waiting":            "di antrean",
	"queue.answered":           "dijawab petugas",
	"queue.abandoned":          "menutup di antrean",
	"queue.queue_ended":        "berakhir di antrean",
	"queue.unknown":            "nasib tidak diketahui",
	"col.person":               "ke petugas",
	"legend.within":            "dijawab petugas dalam (skala kanan):",
	"chart.within.title":       "%s: %s dijawab petugas dalam %d dtk",
	"kpi.prank_share":          "Porsi iseng",
	"kpi.prank_of":             "%s dari %s panggilan",
	"kpi.blocked":              "Nomor diblokir sekarang",
	"kpi.refused":              "%s panggilan ditolak",
	"kpi.silent_help":          "Minta tolong diam (55)",
	"kpi.callback":             "Perlu ditelepon balik",
	"kpi.unreached":            "Belum terjangkau",
	"kpi.unreached_title":      "Penelepon yang memberi tanda orang hari ini dan belum tersambung ke petugas (menunggu panggil balik, atau semua percobaan gagal). Targetnya 0.",
	"kpi.callback_n":           "%s perlu ditelepon balik",
	"cb.due":                   "ditelepon balik otomatis pukul %s",
	"cb.waiting":               "menunggu petugas kosong",
	"cb.tried":                 "ditelepon balik %d×, %s",
	"cb.next":                  "%s; berikutnya %s",
	"cb.next_due":              "%s; menunggu petugas kosong",
	"cb.result.put_through":    "tersambung ke antrean petugas",
	"cb.result.no_answer":      "tidak diangkat",
	"cb.result.busy":           "nada sibuk",
	"cb.result.no_response":    "diangkat tanpa jawaban",
	"cb.result.failed":         "gagal menelepon",
	"cb.result.cancelled":      "dihentikan",
	"cb.result.other":          "hasil tidak dikenal",
	"cb.own.abandoned":         "tersambung, lalu menutup di antrean",
	"cb.own.queue_ended":       "tersambung, berakhir di antrean",
	"cb.end.operator_answered": "dijawab petugas",
	"cb.end.called_again":      "menelepon lagi, dijawab petugas",
	"cb.exhausted":             "tidak terjangkau setelah %d kali — telepon manual",
	"cb.end.cancelled":         "panggil balik dibatalkan oleh %s",
	"cb.end.handled":           "ditandai oleh %s",
	"cb.end.prank":             "dinilai iseng",
	"cb.end.blocked":           "nomor diblokir, tidak ditelepon balik otomatis",
	"cb.end.other":             "panggil balik selesai",
	"cb.switch":                "Panggil balik otomatis: %s",
	"cb.switch.on":             "AKTIF",
	"cb.switch.off":            "MATI",
	"btn.cb_cancel":            "Batalkan panggil balik",
	"cb.cancel_note":           "alasan (wajib)",
	"kpi.classify":             "Median waktu klasifikasi",
	"kpi.classify_p90":         "p90 %s dtk",
	"unit.s":                   "dtk",
	"chart.hourly":             "Panggilan per jam menurut hasil",
	"chart.daily":              "Panggilan per hari menurut hasil",
	"chart.types":              "Menurut jenis darurat",
	"chart.prank.title":        "%s: %s dari %s panggilan",
	"chart.avg":                "biasanya %s (rata-rata %d minggu)",
	"chart.prank.30d":          "Porsi iseng per hari, 30 hari terakhir",
	"chart.heat":               "Panggilan iseng menurut hari dan jam, 4 minggu terakhir",
	"chart.no_types":           "belum ada panggilan berjenis",
	"group.put_through":        "memilih/bicara",
	"group.silent_help":        "minta tolong diam",
	"group.prank":              "diam/tutup/salah tombol",
	"group.refused":            "ditolak (diblokir)",
	"group.in_progress":        "masih berlangsung",
	"group.incident":           "tentang kejadian (tekan 8)",
	"note.prank":               "Iseng: tanpa masukan, ditutup, atau tombol salah tanpa putusan “asli”, atau ditandai iseng oleh operator. Penelepon berulang juga menghitung panggilan yang ditolak karena diblokir.",
	"panel.blocked":            "Diblokir sekarang",
	"panel.repeat":             "Penelepon berulang",
	"panel.recent":             "Panggilan terakhir",
	"incident.banner":          "Pengumuman kejadian aktif: %s",
	"incident.figures":         "%s penelepon menekan 8 (selesai tanpa petugas) dari %s yang mendengar; %s tetap ke antrean petugas",
	"console.signed":           "Masuk sebagai %s",
	"console.incident":         "Pengumuman kejadian",
	"console.blocks":           "Nomor diblokir",
	"console.signout":          "Keluar",
	"console.signin":           "Masuk ke konsol",
	"console.why":              "(tandai panggilan iseng/asli, telepon balik, blokir)",
	"panel.attention":          "Perlu perhatian",
	"attention.callback":       "telepon balik",
	"col.call_id":              "ID panggilan",
	"col.queue":                "ke antrean",
	"col.actions":              "Tindakan",
	"btn.called_back":          "Sudah ditelepon balik",
	"btn.handled":              "Ditangani",
	"btn.prank":                "Iseng",
	"btn.genuine":              "Asli",
	"panel.nodes":              "Node Asterisk",
	"col.number":               "nomor",
	"col.until":                "sampai",
	"col.strikes":              "strike",
	"col.calls":                "panggilan",
	"col.prank":                "iseng",
	"col.time":                 "waktu",
	"col.outcome":              "hasil",
	"col.type":                 "jenis",
	"col.classify":             "klasifikasi",
	"col.node":                 "node",
	"col.through":              "ke antrean",
	"none":                     "tidak ada",
	"none.calls":               "tidak ada panggilan pada rentang ini",
	"withheld":                 "disembunyikan",
	"verdict.prank":            "iseng",
	"verdict.genuine":          "asli",
	"outcome.emergency":        "darurat",
	"outcome.voice":            "bicara",
	"outcome.silent_help":      "minta tolong diam",
	"outcome.no_input":         "tanpa masukan",
	"outcome.abandoned":        "ditutup",
	"outcome.invalid":          "tombol salah",
	"outcome.blocked":          "ditolak (diblokir)",
	"outcome.blocked_override": "diblokir, ke antrean",
	"outcome.failover":         "gangguan IVR, ke antrean",
	"outcome.incident_ack":     "kejadian sudah dilaporkan",
	"outcome.in_progress":      "berlangsung",
	"type.fire":                "kebakaran",
	"type.medical":             "medis",
	"type.police":              "polisi",
	"type.disaster":            "bencana/penyelamatan",
	"type.other":               "lainnya",
	"type.operator":            "operator",
	"health.ari_node":          "Node Asterisk %s terputus: panggilan ke node ini tidak masuk IVR.",
	"health.ari_all":           "Semua node Asterisk terputus: IVR tidak menerima panggilan.",
	"health.nats":              "NATS tidak terjangkau: angka tidak diperbarui.",
	"health.jetstream":         "Aliran peristiwa JetStream tidak tersedia: peristiwa ditahan, angka tidak diperbarui.",
	"health.spool_full":        "Spool peristiwa penuh: peristiwa baru hilang.",
	"health.roles":             "Sebuah pekerja sedang menunggu dijalankan ulang.",
	"health.spooling":          "Peristiwa sedang ditampung di disk (NATS lambat atau putus); angka menyusul.",
	"health.dropped":           "%s peristiwa hilang (spool penuh atau ditolak): angka kurang dari kenyataan.",
	"health.blocklist_cache":   "Daftar blokir belum dimuat: belum ada nomor yang diblokir.",
	"health.blocklist_worker":  "Pekerja daftar blokir bermasalah: blokir baru tidak dibuat.",
	"health.loading":           "Memuat riwayat: angka belum lengkap.",
	"health.lagging":           "Pekerja laporan tertinggal %s peristiwa: angka terlambat.",
	"health.stream":            "Pekerja laporan tidak terhubung ke aliran peristiwa: angka basi.",
	"health.check":             "Pemeriksaan %s gagal.",
	"health.stale":             "Koneksi langsung terputus: angka di layar ini basi.",
	"err.range":                "Rentang waktu tidak valid: %s Ditampilkan hari ini.",
	"err.range.key":            "“%s” bukan pilihan rentang.",
	"err.range.date":           "“%s” bukan tanggal.",
	"err.range.order":          "tanggal akhir harus setelah tanggal awal.",
	"err.range.long":           "rentang terlalu panjang.",
	"err.bucket":               "“%s” bukan jam atau hari.",
	"footer.json":              "JSON",
	"footer.csv":               "CSV",
	"footer.metrics":           "metrik",
	"zone.label":               "zona waktu %s",
}

// catalogueEN is English.
var catalogueEN = map[string]string{
	"title":                    "Siaga 112",
	"board.aria":               "112 call wall board",
	"range.today":              "Today",
	"range.24h":                "24 h",
	"range.7d":                 "7 days",
	"range.30d":                "30 days",
	"range.title.today":        "Today",
	"range.title.24h":          "Last 24 hours",
	"range.title.7d":           "Last 7 days",
	"range.title.30d":          "Last 30 days",
	"range.from":               "from",
	"range.to":                 "to",
	"range.show":               "Show",
	"range.nav":                "Time range",
	"lang.nav":                 "Language",
	"lang.id":                  "ID",
	"lang.en":                  "EN",
	"status.live":              "live",
	"status.stale":             "stale",
	"status.loading":           "loading history…",
	"status.updated":           "updated",
	"status.down":              "DOWN",
	"status.degraded":          "degraded",
	"kpi.now":                  "in the IVR",
	"kpi.calls.today":          "Calls today",
	"kpi.calls.range":          "Calls",
	"kpi.put_through":          "To the operators' queue",
	"queue.aria":               "Operators' queue",
	"kpi.waiting":              "in the queue",
	"kpi.longest":              "longest (m:ss)",
	"kpi.waiting_none":         "nobody waiting",
	"kpi.within":               "Answered by a person within",
	"kpi.within_t":             "≤%d s",
	"kpi.within_target":        "target 90% ≤15 s, 95% ≤20 s",
	"kpi.to_person":            "Time to a person",
	"kpi.median_s":             "median (s)",
	"kpi.p90_s":                "p90 (s)",
	"kpi.queue_abandoned":      "Hung up in the queue",
	"kpi.queue_abandoned_sub":  "to call back",
	"kpi.operators":            "Operators",
	"kpi.put_through_fates":    "%s answered by a person, %s hung up in the queue",
	"op.free":                  "free",
	"op.busy":                  "busy",
	"op.ringing":               "%s ringing",
	"op.away":                  "away",
	"queue.waiting":            "waiting in the queue",
	"queue.answered":           "answered by a person",
	"queue.abandoned":          "hung up in the queue",
	"queue.queue_ended":        "ended in the queue",
	"queue.unknown":            "fate not known",
	"col.person":               "to a person",
	"legend.within":            "answered by a person within (right scale):",
	"chart.within.title":       "%s: %s answered by a person within %d s",
	"kpi.prank_share":          "Prank share",
	"kpi.prank_of":             "%s of %s calls",
	"kpi.blocked":              "Numbers blocked now",
	"kpi.refused":              "%s calls refused",
	"kpi.silent_help":          "Silent help (55)",
	"kpi.callback":             "Calls to call back",
	"kpi.unreached":            "Not yet reached",
	"kpi.unreached_title":      "Callers who gave a sign of a person today and have not reached an operator yet (waiting for a call-back, or every attempt failed). The goal is 0.",
	"kpi.callback_n":           "%s to call back",
	"cb.due":                   "automatic call-back at %s",
	"cb.waiting":               "waiting for a free operator",
	"cb.tried":                 "called back %d×, %s",
	"cb.next":                  "%s; next %s",
	"cb.next_due":              "%s; waiting for a free operator",
	"cb.result.put_through":    "connected to the operators' queue",
	"cb.result.no_answer":      "no answer",
	"cb.result.busy":           "busy",
	"cb.result.no_response":    "answered, no response",
	"cb.result.failed":         "call failed",
	"cb.result.cancelled":      "stopped",
	"cb.result.other":          "unknown result",
	"cb.own.abandoned":         "connected, then hung up in the queue",
	"cb.own.queue_ended":       "connected, ended in the queue",
	"cb.end.operator_answered": "answered by an operator",
	"cb.end.called_again":      "called again, answered by an operator",
	"cb.exhausted":             "not reached after %d attempts — call by hand",
	"cb.end.cancelled":         "call-back cancelled by %s",
	"cb.end.handled":           "ticked by %s",
	"cb.end.prank":             "judged a prank",
	"cb.end.blocked":           "number blocked, no automatic call-back",
	"cb.end.other":             "call-back ended",
	"cb.switch":                "Automatic call-back: %s",
	"cb.switch.on":             "ON",
	"cb.switch.off":            "OFF",
	"btn.cb_cancel":            "Cancel call-back",
	"cb.cancel_note":           "reason (required)",
	"kpi.classify":             "Median time to classify",
	"kpi.classify_p90":         "p90 %s s",
	"unit.s":                   "s",
	"chart.hourly":             "Calls per hour by outcome",
	"chart.daily":              "Calls per day by outcome",
	"chart.types":              "By emergency type",
	"chart.prank.title":        "%s: %s of %s calls",
	"chart.avg":                "usual %s (mean of %d weeks)",
	"chart.prank.30d":          "Prank share per day, last 30 days",
	"chart.heat":               "Prank-like calls by weekday and hour, last 4 weeks",
	"chart.no_types":           "no typed calls yet",
	"group.put_through":        "chose or spoke",
	"group.silent_help":        "silent help",
	"group.prank":              "silent/hung up/wrong keys",
	"group.refused":            "refused: blocked",
	"group.in_progress":        "in progress",
	"group.incident":           "about the incident (pressed 8)",
	"note.prank":               "Prank-like: no input, hung up or wrong keys without a “genuine” verdict, or marked prank by an operator. Repeat callers also count calls refused by a block.",
	"panel.blocked":            "Blocked now",
	"panel.repeat":             "Repeat callers",
	"panel.recent":             "Recent calls",
	"incident.banner":          "Incident announcement playing: %s",
	"incident.figures":         "%s callers pressed 8 (ended without an operator) of %s who heard it; %s still went to the operators' queue",
	"console.signed":           "Signed in as %s",
	"console.incident":         "Incident announcement",
	"console.blocks":           "Blocked numbers",
	"console.signout":          "Sign out",
	"console.signin":           "Sign in to the console",
	"console.why":              "(mark calls prank/genuine, call-backs, blocks)",
	"panel.attention":          "Needs attention",
	"attention.callback":       "call back",
	"col.call_id":              "Call id",
	"col.queue":                "to queue",
	"col.actions":              "Actions",
	"btn.called_back":          "Called back",
	"btn.handled":              "Handled",
	"btn.prank":                "Prank",
	"btn.genuine":              "Genuine",
	"panel.nodes":              "Asterisk nodes",
	"col.number":               "number",
	"col.until":                "until",
	"col.strikes":              "strikes",
	"col.calls":                "calls",
	"col.prank":                "prank-like",
	"col.time":                 "time",
	"col.outcome":              "outcome",
	"col.type":                 "type",
	"col.classify":             "to classify",
	"col.node":                 "node",
	"col.through":              "to the queue",
	"none":                     "none",
	"none.calls":               "no calls in this range",
	"withheld":                 "withheld",
	"verdict.prank":            "prank",
	"verdict.genuine":          "genuine",
	"outcome.emergency":        "emergency",
	"outcome.voice":            "spoke",
	"outcome.silent_help":      "silent help",
	"outcome.no_input":         "no input",
	"outcome.abandoned":        "hung up",
	"outcome.invalid":          "wrong keys",
	"outcome.blocked":          "refused (blocked)",
	"outcome.blocked_override": "blocked, to the queue",
	"outcome.failover":         "IVR failure, to the queue",
	"outcome.incident_ack":     "incident already reported",
	"outcome.in_progress":      "in progress",
	"type.fire":                "fire",
	"type.medical":             "medical",
	"type.police":              "police",
	"type.disaster":            "disaster/rescue",
	"type.other":               "other",
	"type.operator":            "operator",
	"health.ari_node":          "Asterisk node %s is disconnected: its calls do not reach the IVR.",
	"health.ari_all":           "Every Asterisk node is disconnected: the IVR takes no calls.",
	"health.nats":              "NATS is unreachable: figures are not being updated.",
	"health.jetstream":         "The JetStream event stream is unavailable: events are held back and figures are not updated.",
	"health.spool_full":        "The event spool is full: new events are lost.",
	"health.roles":             "A worker is waiting to be restarted.",
	"health.spooling":          "Events are spooling to disk (NATS slow or away); figures will catch up.",
	"health.dropped":           "%s events were dropped (spool full or rejected): figures undercount.",
	"health.blocklist_cache":   "The blocklist has not loaded yet: nobody is blocked.",
	"health.blocklist_worker":  "The blocklist worker is failing: no new blocks are made.",
	"health.loading":           "Loading history: figures are incomplete.",
	"health.lagging":           "The reports worker is %s events behind: figures are late.",
	"health.stream":            "The reports worker has lost the event stream: figures are stale.",
	"health.check":             "Check %s is failing.",
	"health.stale":             "The live connection dropped: the figures on this screen are stale.",
	"err.range":                "Bad time range: %s Showing today.",
	"err.range.key":            "“%s” is not a range choice.",
	"err.range.date":           "“%s” is not a date.",
	"err.range.order":          "the end date must be after the start date.",
	"err.range.long":           "the range is too long.",
	"err.bucket":               "“%s” is not hour or day.",
	"footer.json":              "JSON",
	"footer.csv":               "CSV",
	"footer.metrics":           "metrics",
	"zone.label":               "time zone %s",
}

// Callback says where a dropped call's automatic call-back stands, in the
// board's words, with times in now's zone: "ditelepon balik 2×, tidak
// diangkat; berikutnya 16.42". "" for a call without one.
func (l *locale) Callback(cb *reports.CallbackInfo, now time.Time) string {
	if cb == nil {
		return ""
	}
	loc := now.Location()
	switch cb.Status {
	case reports.CallbackDone:
		switch cb.Done {
		case events.DoneAttemptsExhausted:
			return l.T("cb.exhausted", cb.Attempts)
		case events.DoneCancelled, events.DoneHandled:
			by := cb.By
			if by == "" {
				by = Dash
			}
			return l.T("cb.end."+cb.Done, by)
		}
		if _, ok := l.msgs["cb.end."+cb.Done]; ok {
			return l.T("cb.end." + cb.Done)
		}
		return l.T("cb.end.other")
	case reports.CallbackConnected:
		n := max(cb.Attempts, 1)
		switch cb.Queue {
		case reports.QueueAbandoned, reports.QueueEnded:
			return l.T("cb.tried", n, l.T("cb.own."+cb.Queue))
		case reports.QueueAnswered:
			return l.T("cb.end.operator_answered")
		}
		return l.T("cb.tried", n, l.T("cb.result.put_through"))
	}
	if cb.Attempts == 0 {
		if now.Before(cb.DueAt) {
			return l.T("cb.due", l.HM(cb.DueAt.In(loc)))
		}
		return l.T("cb.waiting")
	}
	result := l.T("cb.result.other")
	if _, ok := l.msgs["cb.result."+cb.LastResult]; ok {
		result = l.T("cb.result." + cb.LastResult)
	}
	s := l.T("cb.tried", cb.Attempts, result)
	switch {
	case cb.NextAt.IsZero():
		return s
	case now.Before(cb.NextAt):
		return l.T("cb.next", s, l.HM(cb.NextAt.In(loc)))
	}
	return l.T("cb.next_due", s)
}
