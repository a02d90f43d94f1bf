// "Now" for relative times, ticking every 30 seconds so "2 minutes ago" stays true.
class Clock {
  now = $state(Math.floor(Date.now() / 1000));
  #timer: ReturnType<typeof setInterval> | null = null;

  start(): () => void {
    this.now = Math.floor(Date.now() / 1000);
    this.#timer ??= setInterval(() => {
      this.now = Math.floor(Date.now() / 1000);
    }, 30_000);
    return () => {
      if (this.#timer !== null) clearInterval(this.#timer);
      this.#timer = null;
    };
  }
}

export const clock = new Clock();
