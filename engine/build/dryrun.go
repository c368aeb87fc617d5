package build

import "fmt"

// Steps lists the instructions a build of opts would run, BuildKit-style
// ("[stage-0 2/3] RUN make"), from the Dockerfile alone: it builds nothing
// (--dry-run). A remote context has no local Dockerfile to read: no steps.
func Steps(opts Options) ([]string, error) {
	if isRemoteContext(opts.Context) && opts.DockerfileInline == "" {
		return nil, nil
	}
	name, content, _, err := readDockerfile(opts)
	if err != nil {
		return nil, err
	}
	d, err := parseDockerfile(name, content)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, st := range d.stages {
		stage := st.Name
		if stage == "" {
			stage = fmt.Sprintf("stage-%d", i)
		}
		n := len(st.Commands) + 1
		out = append(out, fmt.Sprintf("[%s 1/%d] FROM %s", stage, n, st.BaseName))
		for j, c := range st.Commands {
			out = append(out, fmt.Sprintf("[%s %d/%d] %s", stage, j+2, n, c))
		}
		if st.Name != "" && opts.Target == st.Name {
			break // later stages are not built for this target
		}
	}
	return out, nil
}
