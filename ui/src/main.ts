// The welcome screen: asks the Rust side who it is and shows it. Everything is written with
// textContent, never innerHTML, so nothing the backend returns can become markup.
import { invoke, isTauri } from '@tauri-apps/api/core';
import './styles.css';

/** Mirrors `AppInfo` in src-tauri/src/gui.rs. */
interface AppInfo {
  name: string;
  version: string;
  data_dir: string | null;
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
}

function render(info: AppInfo): void {
  document.title = info.name;
  byId('title').textContent = info.name;
  const version = byId('version');
  version.querySelector('.version__text')!.textContent = `Version ${info.version}`;
  version.classList.add('version--ready');

  const dataDir = byId('data-dir');
  if (info.data_dir) {
    dataDir.textContent = info.data_dir;
    dataDir.classList.remove('panel__value--empty');
  } else {
    dataDir.textContent = 'Not chosen yet: Herald picks a folder when you set it up.';
    dataDir.classList.add('panel__value--empty');
  }
  byId('details').hidden = false;
}

function showError(title: string, text: string, detail?: string): void {
  byId('error-title').textContent = title;
  byId('error-text').textContent = text;
  const detailEl = byId('error-detail');
  if (detail) {
    detailEl.textContent = detail;
    detailEl.hidden = false;
  }
  byId('details').hidden = true;
  byId('version').hidden = true;
  byId('error').hidden = false;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

async function main(): Promise<void> {
  // Opened in a plain browser (e.g. the Vite dev server): there is no Rust side to ask.
  if (!isTauri()) {
    showError(
      'Open this page in Herald',
      'This is Herald’s desktop window. It needs the app around it and does not work in a web ' +
        'browser. Start Herald by running “herald” with no arguments.',
    );
    return;
  }
  try {
    render(await invoke<AppInfo>('app_info'));
  } catch (err) {
    showError(
      'Herald could not load its details',
      'The window opened, but the app did not answer. Restart Herald; if this keeps happening, ' +
        'please report it with the message below.',
      describe(err),
    );
  }
}

void main();
