// The window's page: the Svelte app when Herald is around it, a clear message when the page
// is opened in a plain browser (there is no Rust side to talk to there).
import { mount } from 'svelte';
import App from './App.svelte';
import NotInHerald from './NotInHerald.svelte';
import { inHerald } from './lib/api';
import './styles.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app');

mount(inHerald() ? App : NotInHerald, { target });
