package app

import "os"

var debugOut = os.Stderr
