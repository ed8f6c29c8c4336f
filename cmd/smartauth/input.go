package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// errTooLarge: readInput's input is larger than its limit.
var errTooLarge = errors.New("input too large")

// readInput reads the file name ("-": stdin, when the command has one)
// and fails when it is larger than limit bytes: then it returns the first
// limit+1 bytes with an error wrapping errTooLarge.
func readInput(name string, stdin io.Reader, limit int64) ([]byte, error) {
	r := stdin
	if name == "-" && stdin == nil {
		return nil, fmt.Errorf("%q: this command does not read stdin; name a file", name)
	}
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return b, fmt.Errorf("%s: %w: larger than %d bytes", name, errTooLarge, limit)
	}
	return b, nil
}
