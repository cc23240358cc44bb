import { expect, test } from "bun:test";
import { RateWindow } from "../../src/server/append-rates.ts";

function windowAt() {
  const clock = { ms: 0 };
  return { clock, window: new RateWindow(() => clock.ms) };
}

test("no requests, or only one: no rate", () => {
  const { clock, window } = windowAt();
  expect(window.rates()).toEqual({ pkg: 0, bandwidth: 0 });
  window.record(100);
  clock.ms = 10;
  expect(window.rates()).toEqual({ pkg: 0, bandwidth: 0 });
});

test("requests and bytes per second over the time the recorded requests span", () => {
  const { clock, window } = windowAt();
  for (let i = 0; i <= 10; i++) {
    clock.ms = i * 50;
    window.record(1000);
  }
  // 11 requests, 11,000 bytes over 0.5 s.
  expect(window.rates()).toEqual({ pkg: 22, bandwidth: 22_000 });
});

test("only the last 200 requests count", () => {
  const { clock, window } = windowAt();
  for (let i = 0; i < 300; i++) {
    clock.ms = i;
    window.record(i < 100 ? 1_000_000 : 10);
  }
  // Requests 100..299: 200 of 10 bytes over 0.199 s.
  const rates = window.rates();
  expect(rates.pkg).toBeCloseTo(200 / 0.199, 6);
  expect(rates.bandwidth).toBeCloseTo(2000 / 0.199, 6);
});

test("a second without requests clears the window", () => {
  const { clock, window } = windowAt();
  window.record(10);
  clock.ms = 100;
  window.record(10);
  clock.ms = 1101;
  expect(window.rates()).toEqual({ pkg: 0, bandwidth: 0 });
  clock.ms = 1200;
  window.record(10);
  expect(window.rates()).toEqual({ pkg: 0, bandwidth: 0 });
});
