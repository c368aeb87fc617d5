package container

import "github.com/opencontainers/runtime-spec/specs-go"

// The default seccomp profile allows what Docker's default allows: every
// syscall an ordinary program needs, plus the privileged ones only to
// containers that hold the capability guarding them. Anything else fails
// with EPERM. clone may not create namespaces without CAP_SYS_ADMIN, and
// clone3 (whose flags seccomp cannot inspect) reports ENOSYS so that libc
// falls back to clone.

// Syscalls allowed to every container, grouped by what they are for.
var (
	seccompFiles = []string{
		"access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd",
		"open", "openat", "openat2", "creat", "close", "close_range",
		"read", "readv", "pread64", "preadv", "preadv2",
		"write", "writev", "pwrite64", "pwritev", "pwritev2",
		"lseek", "_llseek", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "ioctl",
		"stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64", "newfstatat", "statx",
		"statfs", "statfs64", "fstatfs", "fstatfs64",
		"getdents", "getdents64", "readlink", "readlinkat",
		"mkdir", "mkdirat", "mknod", "mknodat", "rmdir", "rename", "renameat", "renameat2",
		"link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat",
		"chmod", "fchmod", "fchmodat", "chown", "chown32", "fchown", "fchown32",
		"fchownat", "lchown", "lchown32", "umask",
		"truncate", "truncate64", "ftruncate", "ftruncate64", "fallocate",
		"fsync", "fdatasync", "sync", "syncfs", "sync_file_range",
		"fadvise64", "fadvise64_64", "readahead",
		"utime", "utimes", "utimensat", "utimensat_time64", "futimesat",
		"getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
		"listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
		"sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range",
		"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
		"name_to_handle_at",
		"io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
		"io_pgetevents", "io_pgetevents_time64",
		"io_uring_setup", "io_uring_enter", "io_uring_register",
		"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
	}
	seccompPolling = []string{
		"select", "_newselect", "pselect6", "pselect6_time64",
		"poll", "ppoll", "ppoll_time64",
		"epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
		"epoll_wait", "epoll_wait_old", "epoll_pwait", "epoll_pwait2",
		"eventfd", "eventfd2", "signalfd", "signalfd4",
		"timerfd_create", "timerfd_settime", "timerfd_settime64", "timerfd_gettime", "timerfd_gettime64",
		"pipe", "pipe2",
	}
	seccompMemory = []string{
		"brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
		"remap_file_pages", "mlock", "mlock2", "mlockall", "munlock", "munlockall",
		"memfd_create", "memfd_secret", "membarrier",
		"pkey_alloc", "pkey_free", "pkey_mprotect",
	}
	seccompProcesses = []string{
		"fork", "vfork", "execve", "execveat", "exit", "exit_group",
		"wait4", "waitid", "waitpid",
		"getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
		"set_tid_address", "set_robust_list", "get_robust_list", "rseq", "restart_syscall",
		"futex", "futex_time64", "futex_waitv",
		"prctl", "capget", "capset", "seccomp",
		"getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times", "sysinfo", "uname",
		"getpriority", "setpriority", "ioprio_get", "ioprio_set",
		"sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
		"sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
		"sched_get_priority_max", "sched_get_priority_min",
		"sched_rr_get_interval", "sched_rr_get_interval_time64",
		"getcpu", "getrandom", "get_thread_area", "set_thread_area",
		"pidfd_open", "pidfd_send_signal", "process_mrelease",
	}
	seccompIdentity = []string{
		"getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
		"getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32",
		"setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
		"setresuid", "setresuid32", "setresgid", "setresgid32", "setgroups", "setgroups32",
		"setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
	}
	seccompSignals = []string{
		"kill", "tkill", "tgkill", "pause",
		"rt_sigaction", "rt_sigprocmask", "rt_sigpending", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
		"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
		"sigaltstack", "sigprocmask", "sigreturn",
	}
	seccompTime = []string{
		"time", "gettimeofday", "nanosleep", "alarm", "getitimer", "setitimer",
		"clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64",
		"clock_nanosleep", "clock_nanosleep_time64",
		// adjtimex and clock_adjtime only read the clock without CAP_SYS_TIME.
		"adjtimex", "clock_adjtime", "clock_adjtime64",
		"timer_create", "timer_delete", "timer_getoverrun",
		"timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
	}
	seccompNetwork = []string{
		"socketpair", "bind", "listen", "connect", "accept", "accept4", "shutdown",
		"getsockname", "getpeername", "getsockopt", "setsockopt",
		"send", "sendto", "sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg",
		"recvmmsg", "recvmmsg_time64", "socketcall",
	}
	seccompIPC = []string{
		"ipc", "msgget", "msgsnd", "msgrcv", "msgctl",
		"semget", "semop", "semtimedop", "semtimedop_time64", "semctl",
		"shmget", "shmat", "shmdt", "shmctl",
		"mq_open", "mq_unlink", "mq_notify", "mq_getsetattr",
		"mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
	}
)

// Syscalls allowed only with a capability (the one that guards them anyway).
var seccompByCap = []struct {
	cap   string
	names []string
}{
	{"CAP_SYS_ADMIN", []string{
		"mount", "umount", "umount2", "mount_setattr", "move_mount", "open_tree",
		"fsopen", "fsconfig", "fsmount", "fspick",
		"unshare", "setns", "clone", "clone3", "sethostname", "setdomainname",
		"quotactl", "quotactl_fd", "lookup_dcookie", "fanotify_init",
		"bpf", "perf_event_open", "syslog",
	}},
	{"CAP_SYS_PTRACE", []string{"ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp", "pidfd_getfd"}},
	{"CAP_SYS_MODULE", []string{"init_module", "finit_module", "delete_module"}},
	{"CAP_SYS_BOOT", []string{"reboot"}},
	{"CAP_SYS_CHROOT", []string{"chroot"}},
	{"CAP_SYS_PACCT", []string{"acct"}},
	{"CAP_SYS_RAWIO", []string{"iopl", "ioperm"}},
	{"CAP_SYS_TIME", []string{"settimeofday", "stime", "clock_settime", "clock_settime64"}},
	{"CAP_SYS_TTY_CONFIG", []string{"vhangup"}},
	{"CAP_SYS_NICE", []string{"get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "mbind"}},
	{"CAP_SYSLOG", []string{"syslog"}},
	{"CAP_BPF", []string{"bpf"}},
	{"CAP_PERFMON", []string{"perf_event_open"}},
	{"CAP_DAC_READ_SEARCH", []string{"open_by_handle_at"}},
}

// Architecture-specific syscalls, by native architecture name.
var seccompByArch = []struct {
	arches []string
	names  []string
}{
	{[]string{"amd64", "x32"}, []string{"arch_prctl"}},
	{[]string{"amd64", "x32", "x86"}, []string{"modify_ldt"}},
	{[]string{"arm", "arm64"}, []string{"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"}},
	{[]string{"ppc64le"}, []string{"sync_file_range2", "swapcontext"}},
	{[]string{"s390", "s390x"}, []string{"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}},
	{[]string{"riscv64"}, []string{"riscv_flush_icache"}},
}

// nsCloneFlags are the clone flags that create namespaces (CLONE_NEWNS,
// NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET).
const nsCloneFlags = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

// afVsock is AF_VSOCK: containers may not talk to the hypervisor.
const afVsock = 40

// Personalities a program may ask for: Linux, with ADDR_NO_RANDOMIZE, the
// 32-bit one, both, and the query 0xffffffff.
var allowedPersonalities = []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

var defaultSeccomp = buildDefaultSeccomp()

func buildDefaultSeccomp() seccompProfile {
	eperm, enosys := uint(1), uint(38)
	allow := specs.ActAllow
	var common []string
	for _, l := range [][]string{seccompFiles, seccompPolling, seccompMemory, seccompProcesses,
		seccompIdentity, seccompSignals, seccompTime, seccompNetwork, seccompIPC} {
		common = append(common, l...)
	}
	p := seccompProfile{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		ArchMap: []seccompArchMap{
			{specs.ArchX86_64, []specs.Arch{specs.ArchX86, specs.ArchX32}},
			{specs.ArchAARCH64, []specs.Arch{specs.ArchARM}},
			{specs.ArchMIPS64, []specs.Arch{specs.ArchMIPS, specs.ArchMIPS64N32}},
			{specs.ArchMIPSEL64, []specs.Arch{specs.ArchMIPSEL, specs.ArchMIPSEL64N32}},
			{specs.ArchPPC64LE, nil},
			{specs.ArchS390X, []specs.Arch{specs.ArchS390}},
			{specs.ArchRISCV64, nil},
			{specs.ArchLOONGARCH64, nil},
		},
		Syscalls: []seccompRule{
			{Names: common, Action: allow},
			{Names: []string{"socket"}, Action: allow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: afVsock, Op: specs.OpNotEqual}}},
			// Without CAP_SYS_ADMIN, clone may not create namespaces. s390
			// passes the flags as the second argument.
			{Names: []string{"clone"}, Action: allow,
				Args:     []specs.LinuxSeccompArg{{Index: 0, Value: nsCloneFlags, Op: specs.OpMaskedEqual}},
				Excludes: seccompFilter{Caps: []string{"CAP_SYS_ADMIN"}, Arches: []string{"s390", "s390x"}}},
			{Names: []string{"clone"}, Action: allow,
				Args:     []specs.LinuxSeccompArg{{Index: 1, Value: nsCloneFlags, Op: specs.OpMaskedEqual}},
				Includes: seccompFilter{Arches: []string{"s390", "s390x"}},
				Excludes: seccompFilter{Caps: []string{"CAP_SYS_ADMIN"}}},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys,
				Excludes: seccompFilter{Caps: []string{"CAP_SYS_ADMIN"}}},
		},
	}
	for _, v := range allowedPersonalities {
		p.Syscalls = append(p.Syscalls, seccompRule{Names: []string{"personality"}, Action: allow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: v, Op: specs.OpEqualTo}}})
	}
	for _, a := range seccompByArch {
		p.Syscalls = append(p.Syscalls, seccompRule{Names: a.names, Action: allow, Includes: seccompFilter{Arches: a.arches}})
	}
	for _, c := range seccompByCap {
		p.Syscalls = append(p.Syscalls, seccompRule{Names: c.names, Action: allow, Includes: seccompFilter{Caps: []string{c.cap}}})
	}
	// Since 4.8 seccomp cannot be bypassed with ptrace, so Docker allows it
	// to everyone on newer kernels.
	p.Syscalls = append(p.Syscalls, seccompRule{Names: []string{"ptrace", "process_vm_readv", "process_vm_writev"},
		Action: allow, Includes: seccompFilter{MinKernel: "4.8"}})
	return p
}
