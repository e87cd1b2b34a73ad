package arisim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// errNotWAV is returned when a sound file is not a PCM RIFF/WAVE file the sim can measure.
var errNotWAV = errors.New("arisim: not a RIFF/WAVE file")

// wavDuration reads the header of a WAV file and returns how long its audio lasts.
// Only the header is read, so large prompts cost nothing to measure.
func wavDuration(path string) (time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open sound: %w", err)
	}
	defer f.Close() //nolint:errcheck // read-only file
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat sound: %w", err)
	}
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return 0, fmt.Errorf("%w: %v", errNotWAV, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return 0, errNotWAV
	}
	var byteRate uint32
	offset := int64(12)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(f, ch[:]); err != nil {
			return 0, fmt.Errorf("%w: no data chunk", errNotWAV)
		}
		offset += 8
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			var fmtc [16]byte
			if size < 16 {
				return 0, fmt.Errorf("%w: short fmt chunk", errNotWAV)
			}
			if _, err := io.ReadFull(f, fmtc[:]); err != nil {
				return 0, fmt.Errorf("%w: %v", errNotWAV, err)
			}
			byteRate = binary.LittleEndian.Uint32(fmtc[8:12])
			if _, err := f.Seek(int64(size)-16+int64(size&1), io.SeekCurrent); err != nil {
				return 0, fmt.Errorf("%w: %v", errNotWAV, err)
			}
			offset += int64(size) + int64(size&1)
		case "data":
			if byteRate == 0 {
				return 0, fmt.Errorf("%w: data before fmt", errNotWAV)
			}
			// A streaming writer may leave the size as 0 or 0xFFFFFFFF; trust the file then.
			dataLen := int64(size)
			if size == 0 || size == math.MaxUint32 || offset+dataLen > st.Size() {
				dataLen = st.Size() - offset
			}
			return time.Duration(float64(dataLen) / float64(byteRate) * float64(time.Second)), nil
		default:
			if _, err := f.Seek(int64(size)+int64(size&1), io.SeekCurrent); err != nil {
				return 0, fmt.Errorf("%w: %v", errNotWAV, err)
			}
			offset += int64(size) + int64(size&1)
		}
	}
}

// segment is a stretch of recorded audio: the caller talking (a tone) or silence.
// Recordings keep only these, not samples, so thousands of them cost little memory;
// the audio is synthesised when the file is fetched.
type segment struct {
	talk bool
	dur  time.Duration // media time, not scaled by the clock
}

func segmentsDuration(segs []segment) time.Duration {
	var d time.Duration
	for _, s := range segs {
		d += s.dur
	}
	return d
}

// trimTail removes up to d of audio from the end of segs.
func trimTail(segs []segment, d time.Duration) []segment {
	for d > 0 && len(segs) > 0 {
		last := &segs[len(segs)-1]
		if last.dur > d {
			last.dur -= d
			return segs
		}
		d -= last.dur
		segs = segs[:len(segs)-1]
	}
	return segs
}

// recordFormats lists the recording formats the sim can write and their sample rates.
var recordFormats = map[string]int{
	"wav":   8000,
	"wav16": 16000,
	"sln":   8000,
	"sln16": 16000,
	"ulaw":  8000,
	"alaw":  8000,
}

// formatMIME gives the Content-Type the stored file endpoint answers with.
func formatMIME(format string) string {
	switch format {
	case "wav", "wav16":
		return "audio/wav"
	case "ulaw":
		return "audio/basic"
	default:
		return "application/octet-stream"
	}
}

// synthesize renders segments as 16-bit mono PCM samples: a 440 Hz tone for talk,
// zeros for silence.
func synthesize(segs []segment, rate int) []int16 {
	n := 0
	for _, s := range segs {
		n += int(s.dur.Seconds() * float64(rate))
	}
	out := make([]int16, 0, n)
	phase := 0
	for _, s := range segs {
		k := int(s.dur.Seconds() * float64(rate))
		for i := 0; i < k; i++ {
			if s.talk {
				out = append(out, int16(8000*math.Sin(2*math.Pi*440*float64(phase)/float64(rate))))
			} else {
				out = append(out, 0)
			}
			phase++
		}
	}
	return out
}

// encodeAudio renders a recording in the given format.
func encodeAudio(segs []segment, format string) []byte {
	rate := recordFormats[format]
	if rate == 0 {
		rate = 8000
	}
	pcm := synthesize(segs, rate)
	var buf bytes.Buffer
	switch format {
	case "wav", "wav16":
		writeWAVHeader(&buf, len(pcm)*2, rate)
		_ = binary.Write(&buf, binary.LittleEndian, pcm)
	case "ulaw":
		for _, s := range pcm {
			buf.WriteByte(linearToULaw(s))
		}
	case "alaw":
		for _, s := range pcm {
			buf.WriteByte(linearToALaw(s))
		}
	default:
		_ = binary.Write(&buf, binary.LittleEndian, pcm)
	}
	return buf.Bytes()
}

func writeWAVHeader(w *bytes.Buffer, dataLen, rate int) {
	le := binary.LittleEndian
	w.WriteString("RIFF")
	_ = binary.Write(w, le, uint32(36+dataLen))
	w.WriteString("WAVEfmt ")
	_ = binary.Write(w, le, uint32(16))
	_ = binary.Write(w, le, uint16(1)) // PCM
	_ = binary.Write(w, le, uint16(1)) // mono
	_ = binary.Write(w, le, uint32(rate))
	_ = binary.Write(w, le, uint32(rate*2))
	_ = binary.Write(w, le, uint16(2))
	_ = binary.Write(w, le, uint16(16))
	w.WriteString("data")
	_ = binary.Write(w, le, uint32(dataLen))
}

// linearToULaw is the G.711 mu-law encoder.
func linearToULaw(s int16) byte {
	const bias = 0x84
	const clip = 32635
	sample := int(s)
	sign := 0
	if sample < 0 {
		sign = 0x80
		sample = -sample
	}
	if sample > clip {
		sample = clip
	}
	sample += bias
	exp := 7
	for mask := 0x4000; sample&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (sample >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mant)
}

// linearToALaw is the G.711 A-law encoder.
func linearToALaw(s int16) byte {
	sample := int(s) >> 3
	mask := 0xD5
	if sample < 0 {
		mask = 0x55
		sample = -sample - 1
	}
	segEnds := [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}
	seg := 8
	for i, e := range segEnds {
		if sample <= e {
			seg = i
			break
		}
	}
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	aval := seg << 4
	if seg < 2 {
		aval |= (sample >> 1) & 0x0F
	} else {
		aval |= (sample >> seg) & 0x0F
	}
	return byte(aval ^ mask)
}
