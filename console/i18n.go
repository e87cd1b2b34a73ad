package console

import (
	"net/http"
	"strings"
)

// Languages the console speaks; the first is the default.
var languages = []string{"id", "en"}

// catalogue holds every text the console shows, per language.
var catalogue = map[string]map[string]string{
	"id": {
		"title.login":              "Masuk — Siaga 112",
		"login.heading":            "Masuk ke konsol Siaga 112",
		"login.name":               "Nama pengguna",
		"login.password":           "Kata sandi",
		"login.submit":             "Masuk",
		"login.failed":             "Nama atau kata sandi salah.",
		"login.throttled":          "Terlalu banyak percobaan gagal dari alamat ini. Coba lagi dalam %d detik.",
		"login.busy":               "Terlalu banyak orang masuk bersamaan. Coba lagi dalam %d detik.",
		"err.reason":               "Alasan terlalu panjang atau berisi karakter kendali: paling banyak %d karakter dalam satu baris (sekarang %d). Perbaiki lalu kirim lagi.",
		"err.title":                "Judul harus 3 sampai %d karakter dalam satu baris (sekarang %d). Perbaiki lalu kirim lagi.",
		"err.callid":               "Itu bukan ID panggilan.",
		"notice.blocked":           "Nomor %s diblokir.",
		"notice.incident.started":  "Pengumuman dimulai.",
		"notice.incident.stopped":  "Pengumuman dihentikan.",
		"err.origin":               "Formulir ini dikirim dari situs lain dan ditolak. Buka konsol langsung lalu coba lagi.",
		"login.none":               "Belum ada akun. Administrator membuatnya dengan: siaga112 user add NAMA --role supervisor",
		"logout":                   "Keluar",
		"signed.as":                "Masuk sebagai %s (%s)",
		"role.operator":            "operator",
		"role.supervisor":          "supervisor",
		"back":                     "Kembali ke papan",
		"title.number":             "Riwayat nomor %s — Siaga 112",
		"number.heading":           "Riwayat nomor %s",
		"number.bad":               "Nomor tidak valid: %s",
		"number.calls":             "Panggilan",
		"number.blocks":            "Perubahan blokir",
		"number.none":              "Tidak ada panggilan dari nomor ini dalam masa simpan data.",
		"number.blocked":           "Diblokir sampai %s (tingkat %d, %d pelanggaran): %s",
		"number.notblocked":        "Tidak diblokir (%d pelanggaran dalam jendela).",
		"number.csv":               "Unduh CSV (untuk polisi)",
		"number.print":             "Cetak",
		"col.time":                 "Waktu",
		"col.call":                 "ID panggilan",
		"col.outcome":              "Hasil",
		"col.type":                 "Jenis",
		"col.queue":                "Ke antrean",
		"col.recording":            "Rekaman",
		"col.verdict":              "Penilaian",
		"col.until":                "Sampai",
		"col.strikes":              "Pelanggaran",
		"col.reason":               "Alasan",
		"col.actions":              "Tindakan",
		"btn.prank":                "Iseng",
		"btn.genuine":              "Asli",
		"btn.calledback":           "Sudah ditelepon balik",
		"btn.handled":              "Ditangani",
		"btn.lift":                 "Cabut blokir",
		"btn.block":                "Blokir",
		"block.heading":            "Blokir nomor",
		"block.for":                "Lama (mis. 1h, 6h, 7d)",
		"block.reason":             "Alasan",
		"callback":                 "telepon balik",
		"err.csrf":                 "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.",
		"err.signin":               "Silakan masuk terlebih dahulu.",
		"err.role":                 "Hanya supervisor yang boleh melakukan ini.",
		"err.unknowncall":          "Panggilan %s tidak dikenal oleh sistem.",
		"err.failed":               "Gagal: %s",
		"ok.verdict":               "Penilaian %s untuk panggilan %s tersimpan.",
		"ok.handled":               "Panggilan %s ditandai.",
		"ok.blocked":               "Nomor %s diblokir sampai %s.",
		"ok.lifted":                "Blokir nomor %s dicabut.",
		"dash":                     "–",
		"outcome.emergency":        "darurat",
		"outcome.voice":            "suara",
		"outcome.silent_help":      "bantuan senyap",
		"outcome.no_input":         "tanpa masukan",
		"outcome.abandoned":        "ditutup",
		"outcome.invalid":          "tombol salah",
		"outcome.blocked":          "diblokir",
		"outcome.blocked_override": "lolos blokir",
		"outcome.failover":         "dialihkan",
		"blocks.title":             "Nomor diblokir — Siaga 112",
		"blocks.heading":           "Nomor yang diblokir sekarang",
		"blocks.none":              "Tidak ada nomor yang diblokir.",
		"blocks.unavailable":       "Daftar blokir tidak tersedia di sini.",
		"blocks.link":              "Nomor diblokir",
		"col.number":               "Nomor",
		"col.level":                "Tingkat",
		"col.by":                   "Oleh",
		"outcome.incident_ack":     "tentang kejadian",
		"incident.title":           "Pengumuman kejadian — Siaga 112",
		"incident.heading":         "Pengumuman kejadian",
		"incident.none":            "Tidak ada pengumuman yang aktif. Penelepon mendengar menu biasa.",
		"incident.active":          "Aktif: %s — diputar sejak %s sampai %s, dimulai oleh %s (%s).",
		"incident.start":           "Mulai pengumuman",
		"incident.stop":            "Hentikan pengumuman",
		"incident.name":            "Judul kejadian",
		"incident.media":           "Pesan yang diputar",
		"incident.for":             "Lama (bawaan 2h)",
		"incident.help":            "Penelepon mendengar pesan ini setelah salam, lalu: tekan 8 jika menelepon tentang kejadian ini. Penelepon lain tetap ke menu.",
		"incident.unavailable":     "Pengumuman kejadian tidak tersedia di sini (NATS belum siap).",
		"incident.link":            "Pengumuman kejadian",
		"incident.recorded":        "rekaman telepon %s (UTC)",
		"incident.byphone":         "Rekam pesan baru lewat telepon: dari telepon petugas, tekan *112.",
		"ok.incident.started":      "Pengumuman %s aktif sampai %s.",
		"ok.incident.stopped":      "Pengumuman %s dihentikan.",
	},
	"en": {
		"title.login":              "Sign in — Siaga 112",
		"login.heading":            "Sign in to the Siaga 112 console",
		"login.name":               "User name",
		"login.password":           "Password",
		"login.submit":             "Sign in",
		"login.failed":             "Wrong name or password.",
		"login.throttled":          "Too many failed attempts from this address. Try again in %d seconds.",
		"login.busy":               "Too many sign-ins at once. Try again in %d seconds.",
		"err.reason":               "The reason is too long or holds control characters: at most %d characters on one line (now %d). Fix it and send again.",
		"err.title":                "The title must be 3 to %d characters on one line (now %d). Fix it and send again.",
		"err.callid":               "That is not a call id.",
		"notice.blocked":           "Number %s blocked.",
		"notice.incident.started":  "The announcement started.",
		"notice.incident.stopped":  "The announcement stopped.",
		"err.origin":               "This form was sent from another site and is refused. Open the console directly and try again.",
		"login.none":               "No accounts yet. An administrator creates one with: siaga112 user add NAME --role supervisor",
		"logout":                   "Sign out",
		"signed.as":                "Signed in as %s (%s)",
		"role.operator":            "operator",
		"role.supervisor":          "supervisor",
		"back":                     "Back to the board",
		"title.number":             "History of %s — Siaga 112",
		"number.heading":           "History of %s",
		"number.bad":               "Not a valid number: %s",
		"number.calls":             "Calls",
		"number.blocks":            "Blocklist changes",
		"number.none":              "No call from this number within the data retention.",
		"number.blocked":           "Blocked until %s (level %d, %d strikes): %s",
		"number.notblocked":        "Not blocked (%d strikes in the window).",
		"number.csv":               "Download CSV (for the police)",
		"number.print":             "Print",
		"col.time":                 "Time",
		"col.call":                 "Call id",
		"col.outcome":              "Outcome",
		"col.type":                 "Type",
		"col.queue":                "To queue",
		"col.recording":            "Recording",
		"col.verdict":              "Verdict",
		"col.until":                "Until",
		"col.strikes":              "Strikes",
		"col.reason":               "Reason",
		"col.actions":              "Actions",
		"btn.prank":                "Prank",
		"btn.genuine":              "Genuine",
		"btn.calledback":           "Called back",
		"btn.handled":              "Handled",
		"btn.lift":                 "Lift block",
		"btn.block":                "Block",
		"block.heading":            "Block a number",
		"block.for":                "For (e.g. 1h, 6h, 7d)",
		"block.reason":             "Reason",
		"callback":                 "call back",
		"err.csrf":                 "The form has expired or is not valid. Reload the page and try again.",
		"err.signin":               "Please sign in first.",
		"err.role":                 "Only a supervisor may do this.",
		"err.unknowncall":          "The system does not know call %s.",
		"err.failed":               "Failed: %s",
		"ok.verdict":               "Verdict %s for call %s saved.",
		"ok.handled":               "Call %s ticked.",
		"ok.blocked":               "Number %s blocked until %s.",
		"ok.lifted":                "Block of %s lifted.",
		"dash":                     "–",
		"outcome.emergency":        "emergency",
		"outcome.voice":            "voice",
		"outcome.silent_help":      "silent help",
		"outcome.no_input":         "no input",
		"outcome.abandoned":        "abandoned",
		"outcome.invalid":          "wrong keys",
		"outcome.blocked":          "blocked",
		"outcome.blocked_override": "blocked, put through",
		"outcome.failover":         "failover",
		"blocks.title":             "Blocked numbers — Siaga 112",
		"blocks.heading":           "Numbers blocked now",
		"blocks.none":              "No number is blocked.",
		"blocks.unavailable":       "The blocklist is not available here.",
		"blocks.link":              "Blocked numbers",
		"col.number":               "Number",
		"col.level":                "Level",
		"col.by":                   "By",
		"outcome.incident_ack":     "about the incident",
		"incident.title":           "Incident announcement — Siaga 112",
		"incident.heading":         "Incident announcement",
		"incident.none":            "No announcement is playing. Callers hear the usual menu.",
		"incident.active":          "Playing: %s — since %s until %s, started by %s (%s).",
		"incident.start":           "Start the announcement",
		"incident.stop":            "Stop the announcement",
		"incident.name":            "Incident title",
		"incident.media":           "Message played",
		"incident.for":             "For (default 2h)",
		"incident.help":            "Callers hear this message after the greeting, then: press 8 if you are calling about it. Everyone else goes on to the menu.",
		"incident.unavailable":     "Incident announcements are not available here (NATS not ready).",
		"incident.link":            "Incident announcement",
		"incident.recorded":        "recorded by phone %s (UTC)",
		"incident.byphone":         "Record a new message by phone: from an operator phone, dial *112.",
		"ok.incident.started":      "Announcement %s playing until %s.",
		"ok.incident.stopped":      "Announcement %s stopped.",
	},
}

// pickLanguage chooses the page language: ?lang=, then the browser's
// Accept-Language, then the configured default.
func pickLanguage(r *http.Request, def string) string {
	if l := r.URL.Query().Get("lang"); known(l) {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		base := strings.ToLower(strings.SplitN(tag, "-", 2)[0])
		if known(base) {
			return base
		}
	}
	if known(def) {
		return def
	}
	return languages[0]
}

func known(l string) bool {
	_, ok := catalogue[l]
	return ok
}

// text looks a key up; a missing key shows itself, which the catalogue
// test forbids.
func text(lang, key string) string {
	if s, ok := catalogue[lang][key]; ok {
		return s
	}
	return key
}
