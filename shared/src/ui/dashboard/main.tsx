/** Dashboard entry: styles, then the app. The backend serves this bundle at /. */
import '../theme.css';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { createRoot } from 'react-dom/client';
import { App } from './App';

const el = document.getElementById('root');
if (el) createRoot(el).render(<App />);
