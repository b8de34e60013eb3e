package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes one JUnit XML file for a whole run: every selected test,
// including those not run (as skipped), each with where its log is.
func writeJUnit(path string, sum *Summary) error {
	name := "kubelite conformance " + sum.Name
	if sum.ClusterKind == ClusterUpstream {
		name = "upstream control plane conformance " + sum.Name // the name is results/upstream-<name>'s
	}
	suite := junitSuite{
		Name: name, Tests: len(sum.Results), Failures: sum.Failed, Skipped: sum.Skipped,
		Time: fmt.Sprintf("%.0f", sum.Seconds), Timestamp: sum.Started.Format("2006-01-02T15:04:05Z"),
		Properties: []junitProperty{
			{"tier", sum.Tier},
			{"focus", sum.Focus},
			{"commit", sum.Commit},
			{"cluster", sum.Cluster},
			{"relaxing-flags", strings.Join(sum.RelaxingFlags, " ")},
			{"e2e-flags", strings.Join(sum.Flags, " ")},
		},
	}
	for _, r := range sum.Results {
		c := junitCase{Name: r.Name, Classname: sum.Name, Time: fmt.Sprintf("%.1f", r.Seconds)}
		if r.Log != "" {
			c.SystemOut = "log: " + r.Log
		}
		switch r.State {
		case Failed:
			text := r.Failure
			if r.Location != "" {
				text += "\nat " + r.Location
			}
			c.Failure = &junitMessage{Message: r.FirstLine(), Type: r.Ginkgo, Text: text}
		case Skipped:
			c.Skipped = &junitMessage{Message: r.FirstLine()}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: suite.Time,
		Suites: []junitSuite{suite}}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}
