package defaults

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// pullPolicy is the default pull policy for an image reference: Always when
// the reference names the "latest" tag, explicitly or by having neither tag
// nor digest, and IfNotPresent otherwise. A reference that does not parse
// also gets IfNotPresent; validation reports it.
func pullPolicy(image string) corev1.PullPolicy {
	if tag, ok := imageTag(image); ok && tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// imageTag parses image as a container image reference the way the
// container runtime tooling does (name[:tag][@digest], with Docker Hub's
// "docker.io/library/" normalization) and returns its tag. A reference with
// neither tag nor digest has the implied tag "latest"; one with only a
// digest has the tag "". ok is false when image is not a valid reference.
func imageTag(image string) (tag string, ok bool) {
	if isHex(image, 64) {
		// A bare 64-hex string is an image ID, not a repository name.
		return "", false
	}
	domain, rest := splitDomain(image)
	remote, _, _ := strings.Cut(rest, ":")
	if strings.ToLower(remote) != remote {
		return "", false
	}

	ref, digest, hasDigest := strings.Cut(domain+"/"+rest, "@")
	if hasDigest && !validDigest(digest) {
		return "", false
	}
	name := ref
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		name, tag = ref[:i], ref[i+1:]
		if !validTag(tag) {
			return "", false
		}
	}
	if path, ok := repositoryPath(name); !ok || len(path) > 255 {
		return "", false
	}
	if tag == "" && !hasDigest {
		tag = "latest"
	}
	return tag, true
}

// splitDomain splits a reference into its registry and the rest, normalizing
// a reference without a registry to Docker Hub and an official image "x" to
// "library/x". The first path segment counts as a registry only if it looks
// like a host: it contains "." or ":", is "localhost", or has upper case.
func splitDomain(image string) (domain, rest string) {
	first, after, found := strings.Cut(image, "/")
	if !found || (!strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) == first) {
		domain, rest = "docker.io", image
	} else {
		domain, rest = first, after
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return domain, rest
}

// repositoryPath returns the path of a repository name, the part after an
// optional registry host[:port]: lower-case path components separated by
// "/". ok is false if name is not a repository name.
func repositoryPath(name string) (path string, ok bool) {
	host, rest, found := strings.Cut(name, "/")
	if found && validHost(host) && validPath(rest) {
		return rest, true
	}
	return name, validPath(name)
}

// validPath reports whether every "/"-separated segment of s is a valid
// path component.
func validPath(s string) bool {
	for segment := range strings.SplitSeq(s, "/") {
		if !validPathComponent(segment) {
			return false
		}
	}
	return true
}

// validPathComponent reports whether s is runs of [a-z0-9] joined by single
// separators, a separator being ".", "_", "__" or a run of "-".
func validPathComponent(s string) bool {
	i := 0
	for {
		start := i
		for i < len(s) && isLowerAlnum(rune(s[i])) {
			i++
		}
		if i == start {
			return false
		}
		if i == len(s) {
			return true
		}
		switch {
		case strings.HasPrefix(s[i:], "__"):
			i += 2
		case s[i] == '.' || s[i] == '_':
			i++
		case s[i] == '-':
			for i < len(s) && s[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// validHost reports whether s is a registry host with an optional numeric
// port: dot-separated DNS labels, or a bracketed IPv6 address.
func validHost(s string) bool {
	host := s
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		host = s[:i]
		port := s[i+1:]
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		ip := host[1 : len(host)-1]
		return ip != "" && strings.Trim(ip, "0123456789abcdefABCDEF:") == ""
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if r != '-' && !isLowerAlnum(r) && !('A' <= r && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// validTag reports whether s is 1 to 128 characters of [A-Za-z0-9_.-] that
// do not start with "." or "-".
func validTag(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if r != '_' && r != '.' && r != '-' && !isLowerAlnum(r) && !('A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// validDigest reports whether s is a digest of a supported algorithm with a
// lower-case hex value of the algorithm's length, like "sha256:<64 hex>".
func validDigest(s string) bool {
	algorithm, hex, _ := strings.Cut(s, ":")
	switch algorithm {
	case "sha256":
		return isHex(hex, 64)
	case "sha384":
		return isHex(hex, 96)
	case "sha512":
		return isHex(hex, 128)
	}
	return false
}

// isHex reports whether s is exactly n lower-case hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// isLowerAlnum reports whether r is in [a-z0-9].
func isLowerAlnum(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'z'
}
