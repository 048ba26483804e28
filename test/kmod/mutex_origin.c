// SPDX-License-Identifier: GPL-2.0
/*
 * mutex_origin: known kernel-mutex holds and waits, for checking a mutex tracer against
 * ground truth. The scenario runs inside module init, so `insmod` returns only after it has
 * finished and every measurement has been printed.
 *
 * Each hold/wait is measured by the module itself with ktime_get_ns() right after
 * mutex_lock() returns / right before mutex_unlock() (holds) and right before mutex_lock() /
 * right after it returns (waits), and printed as one line:
 *   mutex_origin: hold tid=<pid> lock=<addr> name=<A|B|M> acquired_ns=<t> released_ns=<t> hold_ns=<n>
 *   mutex_origin: wait tid=<pid> lock=<addr> name=<..> request_ns=<t> acquired_ns=<t> wait_ns=<n>
 * All names are prefixed mo_ so that none clashes with a kernel symbol.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/sched.h>
#include <linux/string.h>

static char *scenario = "hold";
module_param(scenario, charp, 0444);
MODULE_PARM_DESC(scenario, "hold | nested | contend | sleep3");

static unsigned int hold_ms = 300;
module_param(hold_ms, uint, 0444);
MODULE_PARM_DESC(hold_ms, "sleep under the mutex, ms (hold, nested, contend)");

static unsigned int count = 3;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "repetitions (hold, contend)");

static DEFINE_MUTEX(mo_lock_a);
static DEFINE_MUTEX(mo_lock_b);
static DEFINE_MUTEX(mo_lock_m);

static void mo_print_hold(struct mutex *m, const char *name, u64 acq, u64 rel)
{
	pr_info("mutex_origin: hold tid=%d comm=%s lock=%px name=%s acquired_ns=%llu released_ns=%llu hold_ns=%llu\n",
		task_pid_nr(current), current->comm, m, name, acq, rel, rel - acq);
}

static void mo_print_wait(struct mutex *m, const char *name, u64 req, u64 acq)
{
	pr_info("mutex_origin: wait tid=%d comm=%s lock=%px name=%s request_ns=%llu acquired_ns=%llu wait_ns=%llu\n",
		task_pid_nr(current), current->comm, m, name, req, acq, acq - req);
}

/* Lock, sleep, unlock; the sleep is msleep(ms) or, if ms == 0, ssleep(secs). */
static void mo_hold_once(struct mutex *m, const char *name, unsigned int ms, unsigned int secs)
{
	u64 acq, rel;

	mutex_lock(m);
	acq = ktime_get_ns();
	if (ms)
		msleep(ms);
	else
		ssleep(secs);
	rel = ktime_get_ns();
	mutex_unlock(m);
	mo_print_hold(m, name, acq, rel);
}

static void mo_run_hold(void)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		mo_hold_once(&mo_lock_m, "M", hold_ms, 0);
}

static void mo_run_sleep3(void)
{
	mo_hold_once(&mo_lock_m, "M", 0, 3);
}

/* A is held across B's whole hold: hold(A) ~ 2*hold_ms, hold(B) ~ hold_ms. */
static void mo_run_nested(void)
{
	u64 acq_a, acq_b, rel_a, rel_b;

	mutex_lock(&mo_lock_a);
	acq_a = ktime_get_ns();
	msleep(hold_ms);
	mutex_lock(&mo_lock_b);
	acq_b = ktime_get_ns();
	msleep(hold_ms);
	rel_b = ktime_get_ns();
	mutex_unlock(&mo_lock_b);
	rel_a = ktime_get_ns();
	mutex_unlock(&mo_lock_a);
	mo_print_hold(&mo_lock_b, "B", acq_b, rel_b);
	mo_print_hold(&mo_lock_a, "A", acq_a, rel_a);
}

/* contend: a holder kthread takes M and sleeps hold_ms; a waiter kthread asks for M while held. */
static DECLARE_COMPLETION(mo_held);
static DECLARE_COMPLETION(mo_holder_done);
static DECLARE_COMPLETION(mo_waiter_done);

static int mo_holder_fn(void *unused)
{
	u64 acq, rel;

	mutex_lock(&mo_lock_m);
	acq = ktime_get_ns();
	complete(&mo_held);
	msleep(hold_ms);
	rel = ktime_get_ns();
	mutex_unlock(&mo_lock_m);
	mo_print_hold(&mo_lock_m, "M", acq, rel);
	complete(&mo_holder_done);
	return 0;
}

static int mo_waiter_fn(void *unused)
{
	u64 req, acq, rel;

	wait_for_completion(&mo_held);
	req = ktime_get_ns();
	mutex_lock(&mo_lock_m);
	acq = ktime_get_ns();
	rel = ktime_get_ns();
	mutex_unlock(&mo_lock_m);
	mo_print_wait(&mo_lock_m, "M", req, acq);
	mo_print_hold(&mo_lock_m, "M", acq, rel);
	complete(&mo_waiter_done);
	return 0;
}

static int mo_run_contend(void)
{
	struct task_struct *h, *w;
	unsigned int i;

	for (i = 0; i < count; i++) {
		reinit_completion(&mo_held);
		reinit_completion(&mo_holder_done);
		reinit_completion(&mo_waiter_done);
		w = kthread_run(mo_waiter_fn, NULL, "mo_waiter");
		if (IS_ERR(w))
			return PTR_ERR(w);
		h = kthread_run(mo_holder_fn, NULL, "mo_holder");
		if (IS_ERR(h)) {
			/* Let the waiter through: it blocks on mo_held. */
			complete(&mo_held);
			wait_for_completion(&mo_waiter_done);
			return PTR_ERR(h);
		}
		wait_for_completion(&mo_holder_done);
		wait_for_completion(&mo_waiter_done);
	}
	return 0;
}

static int __init mo_init(void)
{
	int ret = 0;

	pr_info("mutex_origin: start scenario=%s hold_ms=%u count=%u tid=%d comm=%s\n",
		scenario, hold_ms, count, task_pid_nr(current), current->comm);
	pr_info("mutex_origin: locks A=%px B=%px M=%px\n", &mo_lock_a, &mo_lock_b, &mo_lock_m);

	if (!strcmp(scenario, "hold"))
		mo_run_hold();
	else if (!strcmp(scenario, "nested"))
		mo_run_nested();
	else if (!strcmp(scenario, "contend"))
		ret = mo_run_contend();
	else if (!strcmp(scenario, "sleep3"))
		mo_run_sleep3();
	else {
		pr_err("mutex_origin: unknown scenario=%s\n", scenario);
		return -EINVAL;
	}

	pr_info("mutex_origin: done scenario=%s ret=%d\n", scenario, ret);
	return ret;
}

static void __exit mo_exit(void)
{
}

module_init(mo_init);
module_exit(mo_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Known kernel mutex holds/waits for tracer checks");
