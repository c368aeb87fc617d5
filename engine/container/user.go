package container

import (
	"fmt"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
)

// execUser is the resolved identity of the container's process.
type execUser struct {
	UID, GID int
	Groups   []int
}

// resolveUser resolves a Docker-style user spec ("", "uid", "uid:gid",
// "name", "name:group") against the rootfs's /etc/passwd and /etc/group.
// Its errors read like Docker's, e.g.
// "unable to find user bob: no matching entries in passwd file".
// groupAdd are extra groups (group_add): names or gids.
func resolveUser(rootfs, spec string, groupAdd ...string) (execUser, error) {
	passwd, err := securejoin.SecureJoin(rootfs, "/etc/passwd")
	if err != nil {
		return execUser{}, err
	}
	group, err := securejoin.SecureJoin(rootfs, "/etc/group")
	if err != nil {
		return execUser{}, err
	}
	u, err := user.GetExecUserPath(spec, &user.ExecUser{}, passwd, group)
	if err != nil {
		return execUser{}, err
	}
	groups := u.Sgids
	if len(groupAdd) > 0 {
		extra, err := user.GetAdditionalGroupsPath(groupAdd, group)
		if err != nil {
			return execUser{}, fmt.Errorf("group_add: %w", err)
		}
		groups = append(groups, extra...)
	}
	return execUser{UID: u.Uid, GID: u.Gid, Groups: groups}, nil
}
