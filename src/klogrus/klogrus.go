// Package klogrus routes what client-go logs through klog to a logrus
// logger.
package klogrus

import (
	"fmt"

	"github.com/go-logr/logr"
	"github.com/sirupsen/logrus"
	"k8s.io/klog/v2"
)

// Route sends what client-go logs through klog (watch restarts, request
// throttling, leader-election notes) to the diagnostics logger, so that stderr
// stays one JSON object a line.
func Route(log logrus.FieldLogger) {
	klog.SetLogger(logr.New(&klogSink{log: log.WithField("component", "client-go")}))
}

// klogSink is a logr.LogSink over logrus. klog applies its own verbosity
// (V(0) only, by default) before calling it.
type klogSink struct {
	log  logrus.FieldLogger
	name string
}

func (s *klogSink) Init(logr.RuntimeInfo)  {}
func (s *klogSink) Enabled(level int) bool { return true }

func (s *klogSink) Info(level int, msg string, kv ...any) {
	s.entry(kv).Info(msg)
}

func (s *klogSink) Error(err error, msg string, kv ...any) {
	s.entry(kv).WithError(err).Error(msg)
}

func (s *klogSink) WithValues(kv ...any) logr.LogSink {
	return &klogSink{log: s.entry(kv), name: s.name}
}

func (s *klogSink) WithName(name string) logr.LogSink {
	if s.name != "" {
		name = s.name + "/" + name
	}
	return &klogSink{log: s.log.WithField("logger", name), name: name}
}

// entry turns logr's key/value pairs into logrus fields.
func (s *klogSink) entry(kv []any) logrus.FieldLogger {
	l := s.log
	for i := 0; i+1 < len(kv); i += 2 {
		l = l.WithField(fmt.Sprint(kv[i]), kv[i+1])
	}
	return l
}
