package klogrus

import (
	"io"
	"time"

	"github.com/sirupsen/logrus"
)

// Diagnostics is the commands' stderr logger, JSON like the records so one log
// pipeline can take both streams.
func Diagnostics(w io.Writer, level logrus.Level) *logrus.Logger {
	return &logrus.Logger{
		Out:       w,
		Formatter: &logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano},
		Hooks:     make(logrus.LevelHooks),
		Level:     level,
		ExitFunc:  func(int) {},
	}
}
