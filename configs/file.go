package configs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileSize bounds a config file. The documented file with every key is
// about 10 KiB; anything near this bound is not a config file (a device,
// a log, a disk image given to --config by mistake) and reading it whole
// would only exhaust memory.
const MaxFileSize = 1 << 20

// checkFile accepts a regular file of at most MaxFileSize bytes. Stat does
// not open the file, so a FIFO or a device is refused without blocking on
// it or reading it.
func checkFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrFile, path, err)
	}
	return checkFileInfo(path, st)
}

func checkFileInfo(path string, st fs.FileInfo) error {
	switch {
	case st.IsDir():
		return fmt.Errorf("%w %s: is a directory", ErrFile, path)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%w %s: is not a regular file (%s)", ErrFile, path, fileKind(st.Mode()))
	case st.Size() > MaxFileSize:
		return fmt.Errorf("%w %s: is %d bytes, more than the %d a config file may have", ErrFile, path, st.Size(), MaxFileSize)
	}
	return nil
}

// fileKind names a non-regular file type for an error message.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return m.Type().String()
	}
}

// readFile reads a config file checked by checkFile. The file may have
// been replaced since (by a FIFO, say), so it is opened without blocking,
// checked again on the open descriptor, and read through a limit.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFile, path, err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFile, path, err)
	}
	if err := checkFileInfo(path, st); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFile, path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w %s: grew past the %d bytes a config file may have while being read", ErrFile, path, MaxFileSize)
	}
	return data, nil
}
