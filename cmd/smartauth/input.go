package main

import (
	"fmt"
	"io"
	"os"
)

// readInput reads the file name ("-": stdin, when the command has one)
// and fails when it is larger
// than limit bytes.
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
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return b, nil
}
