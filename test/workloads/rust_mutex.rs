// Test workload for contention mode: THREADS threads take one std::sync::Mutex (a futex word
// since Rust 1.62, no pthread mutex) ITERATIONS times each, holding it HOLD_US asleep.
//
//   rust_mutex THREADS ITERATIONS HOLD_US
//
// Prints "lock addr=0x... size=N" (the Mutex; the compiler orders its fields, so the futex word
// is somewhere inside it), then "done total=N".
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

fn arg(n: usize, default: u64) -> u64 {
    std::env::args().nth(n).map(|s| s.parse().expect("a number")).unwrap_or(default)
}

fn main() {
    let (threads, iterations, hold_us) = (arg(1, 4), arg(2, 50), arg(3, 500));
    let lock = Arc::new(Mutex::new(0u64));
    println!("lock addr={:p} size={}", &*lock as *const Mutex<u64>, std::mem::size_of::<Mutex<u64>>());
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                for _ in 0..iterations {
                    let mut count = lock.lock().unwrap();
                    *count += 1;
                    thread::sleep(Duration::from_micros(hold_us));
                    drop(count);
                    thread::sleep(Duration::from_micros(hold_us / 4));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    println!("done total={}", *lock.lock().unwrap());
}
